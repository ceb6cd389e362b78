// The TextMate grammars and language configurations for WGSL, PTX and Metal: every regex compiles in
// Oniguruma, realistic kernels tokenize back to the top-level state, and key tokens get the scopes the
// grammars promise (themes and the docs rely on these names).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { OnigScanner, OnigString, loadWASM } from 'vscode-oniguruma';
import { INITIAL, Registry, parseRawGrammar, type IGrammar, type IOnigLib, type StateStack } from 'vscode-textmate';

// ---------------------------------------------------------------------------------------------------------------
// Locations: the bundle runs from out/test/unit/, so walk up to the repository root.

function findRepoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'media', 'grammars'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no directory with package.json and media/grammars above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

const root = findRepoRoot();

interface Language {
  id: string;
  scopeName: string;
  grammarFile: string;
  configurationFile: string;
}

const languages: readonly Language[] = ['wgsl', 'ptx', 'msl'].map((id) => ({
  id,
  scopeName: `source.${id}`,
  grammarFile: join(root, 'media', 'grammars', `${id}.tmLanguage.json`),
  configurationFile: join(root, 'media', 'language-configuration', `${id}.json`),
}));

function language(id: string): Language {
  const found = languages.find((l) => l.id === id);
  if (!found) throw new Error(`unknown language ${id}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Oniguruma and the grammar registry, created once for the whole file.

let onigReady: Promise<IOnigLib> | undefined;

function onigLib(): Promise<IOnigLib> {
  onigReady ??= loadWASM(readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'))).then(() => ({
    createOnigScanner: (sources: string[]) => new OnigScanner(sources),
    createOnigString: (text: string) => new OnigString(text),
  }));
  return onigReady;
}

let registry: Registry | undefined;
const grammars = new Map<string, Promise<IGrammar>>();

function grammarFor(id: string): Promise<IGrammar> {
  const lang = language(id);
  let pending = grammars.get(lang.scopeName);
  if (!pending) {
    registry ??= new Registry({
      onigLib: onigLib(),
      loadGrammar: (scopeName: string) => {
        const wanted = languages.find((l) => l.scopeName === scopeName);
        if (!wanted) return Promise.resolve(null);
        return Promise.resolve(parseRawGrammar(readFileSync(wanted.grammarFile, 'utf8'), wanted.grammarFile));
      },
    });
    const reg = registry;
    pending = reg.loadGrammar(lang.scopeName).then((grammar) => {
      if (!grammar) throw new Error(`grammar ${lang.scopeName} did not load`);
      return grammar;
    });
    grammars.set(lang.scopeName, pending);
  }
  return pending;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizing and asserting on scopes.

interface Token {
  line: number;
  lineText: string;
  text: string;
  scopes: readonly string[];
}

interface Tokenized {
  tokens: Token[];
  finalState: StateStack;
}

async function tokenize(id: string, source: string): Promise<Tokenized> {
  const grammar = await grammarFor(id);
  const tokens: Token[] = [];
  let state: StateStack = INITIAL;
  source.split(/\r?\n/).forEach((lineText, line) => {
    const result = grammar.tokenizeLine(lineText, state);
    for (const token of result.tokens) {
      tokens.push({ line, lineText, text: lineText.slice(token.startIndex, token.endIndex), scopes: token.scopes });
    }
    state = result.ruleStack;
  });
  return { tokens, finalState: state };
}

function describe(tokens: readonly Token[]): string {
  return tokens
    .filter((t) => t.text.trim() !== '')
    .map((t) => `  ${t.line}: ${JSON.stringify(t.text)} ${t.scopes.slice(1).join(' ')}`)
    .join('\n');
}

/** The tokens of the first line that contains `needle`. */
function onLine(tokens: readonly Token[], needle: string): Token[] {
  const first = tokens.find((t) => t.lineText.includes(needle));
  if (!first) assert.fail(`no line contains ${JSON.stringify(needle)}`);
  return tokens.filter((t) => t.line === first.line);
}

/** The scopes of the `occurrence`-th token whose text is exactly `text`. */
function scopesOf(tokens: readonly Token[], text: string, occurrence = 0): readonly string[] {
  const matches = tokens.filter((t) => t.text === text);
  const token = matches[occurrence];
  if (!token) {
    assert.fail(`no token #${occurrence} with text ${JSON.stringify(text)} (found ${matches.length}); tokens:\n${describe(tokens)}`);
  }
  return token.scopes;
}

function expectScope(tokens: readonly Token[], text: string, scope: string, occurrence = 0): void {
  const scopes = scopesOf(tokens, text, occurrence);
  assert.ok(
    scopes.includes(scope),
    `token ${JSON.stringify(text)} #${occurrence} should have scope ${scope}, has: ${scopes.join(' ')}`,
  );
}

function expectNoScope(tokens: readonly Token[], text: string, scope: string, occurrence = 0): void {
  const scopes = scopesOf(tokens, text, occurrence);
  assert.ok(
    !scopes.includes(scope),
    `token ${JSON.stringify(text)} #${occurrence} should not have scope ${scope}, has: ${scopes.join(' ')}`,
  );
}

/** A realistic file must tokenize back to the top-level state with nothing marked invalid. */
function expectCleanFile(result: Tokenized): void {
  assert.equal(result.finalState.depth, 1, `a begin/end rule was left open at the end of the file:\n${describe(result.tokens)}`);
  const invalid = result.tokens.filter((t) => t.scopes.some((s) => s.startsWith('invalid.')));
  assert.deepEqual(invalid, [], 'no token of a valid file should be invalid');
}

// ---------------------------------------------------------------------------------------------------------------
// Grammar files: JSON, scope names, includes, and every regex compiled by Oniguruma itself.

interface RegexSite {
  where: string;
  source: string;
  isEnd: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function collectRegexes(node: unknown, where: string, out: RegexSite[], includes: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => collectRegexes(child, `${where}[${i}]`, out, includes));
    return;
  }
  if (!isRecord(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'string' && (key === 'match' || key === 'begin' || key === 'end' || key === 'while')) {
      out.push({ where: `${where}.${key}`, source: value, isEnd: key === 'end' || key === 'while' });
    } else if (key === 'include' && typeof value === 'string') {
      includes.push(value);
    } else {
      collectRegexes(value, `${where}.${key}`, out, includes);
    }
  }
}

for (const lang of languages) {
  test(`${lang.id} grammar: valid JSON, right scope name, every include resolves, every regex compiles`, async () => {
    const raw: unknown = JSON.parse(readFileSync(lang.grammarFile, 'utf8'));
    assert.ok(isRecord(raw), 'the grammar is a JSON object');
    assert.equal(raw.scopeName, lang.scopeName);
    assert.ok(Array.isArray(raw.patterns) && raw.patterns.length > 0, 'the grammar has top-level patterns');
    assert.ok(isRecord(raw.repository), 'the grammar has a repository');
    const repository = raw.repository;

    const regexes: RegexSite[] = [];
    const includes: string[] = [];
    collectRegexes(raw, '$', regexes, includes);
    assert.ok(regexes.length > 20, `expected a substantial grammar, found ${regexes.length} regexes`);

    for (const include of includes) {
      if (include === '$self' || include === '$base') continue;
      assert.ok(include.startsWith('#'), `${lang.id}: only local includes are expected, found ${include}`);
      assert.ok(include.slice(1) in repository, `${lang.id}: include ${include} names no repository entry`);
    }

    await onigLib();
    const failures: string[] = [];
    for (const site of regexes) {
      // end/while patterns may refer back to the begin captures; give those references something to match
      const source = site.isEnd ? site.source.replace(/\\[1-9]/g, 'x') : site.source;
      try {
        new OnigScanner([source]).dispose();
      } catch (error) {
        failures.push(`${site.where}: ${String(error)}: ${site.source}`);
      }
    }
    assert.deepEqual(failures, [], 'every regex compiles in Oniguruma');

    // and the whole grammar loads and tokenizes through vscode-textmate
    const grammar = await grammarFor(lang.id);
    assert.ok(grammar.tokenizeLine('', INITIAL).tokens.length >= 1);
  });
}

test('package.json wires the grammars and language configurations to these files', () => {
  const pkg: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.ok(isRecord(pkg) && isRecord(pkg.contributes), 'package.json has contributes');
  const { grammars: contributedGrammars, languages: contributedLanguages } = pkg.contributes;
  assert.ok(Array.isArray(contributedGrammars) && Array.isArray(contributedLanguages));
  for (const lang of languages) {
    const grammar: unknown = contributedGrammars.find((g: unknown) => isRecord(g) && g.language === lang.id);
    assert.ok(isRecord(grammar), `a grammar is contributed for ${lang.id}`);
    assert.equal(grammar.scopeName, lang.scopeName);
    assert.equal(typeof grammar.path === 'string' ? join(root, grammar.path) : undefined, lang.grammarFile);
    const contributed: unknown = contributedLanguages.find((l: unknown) => isRecord(l) && l.id === lang.id);
    assert.ok(isRecord(contributed), `the ${lang.id} language is contributed`);
    assert.equal(
      typeof contributed.configuration === 'string' ? join(root, contributed.configuration) : undefined,
      lang.configurationFile,
    );
  }
});

// ---------------------------------------------------------------------------------------------------------------
// WGSL

const wgslKernel = String.raw`// Heat diffusion with a shared tile.
enable f16;
requires readonly_and_readwrite_storage_textures;
diagnostic(off, derivative_uniformity);

/* outer /* nested */ still comment */
alias Float4 = vec4f;

struct Particle {
  @align(16) pos: vec4<f32>,
  @size(16) vel: vec3f,
  @location(0) @interpolate(flat, center) tag: u32,
};

override blockSize: u32 = 64u;
const DIFFUSIVITY: f32 = 0.25;
var<workgroup> tile: array<atomic<u32>, 256>;
@group(0) @binding(0) var<storage, read_write> particles: array<Particle>;
@group(0) @binding(1) var<uniform> model: mat4x4f;
@group(0) @binding(2) var out_tex: texture_storage_2d<rgba8unorm, write>;
@group(0) @binding(3) var samp: sampler_comparison;
const_assert blockSize > 0;

fn step(p: ptr<function, i32>, m: mat4x4f) -> Float4 {
  let a = 0x1Fu + 1.0f + 0x1.8p3 + 1e-3h + .5 + 2. + 3f;
  var b: i32 = -42i;
  b += 1; b <<= 2u; b++;
  for (var i = 0; i < 4; i++) { if (i == 2 && b != 0) { continue; } else { break; } }
  loop { continuing { break if b > 3; } }
  switch b { case 1, 2: { discard; } default: {} }
  let bits = bitcast<vec4<u32>>(vec4f(1.0));
  let picked = select(0.0, 1.0, all(vec2<bool>(true, false)));
  _ = array<vec4<f32>, 2>()[0].xyz;
  return Float4(m[0]);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = arrayLength(&particles);
  if (id.x >= n) {
    return;
  }
  atomicAdd(&tile[li], 1u);
  workgroupBarrier();
  let shade = textureSampleCompareLevel(depth_tex, samp, vec2f(0.5), 0.0) * unpack4x8unorm(7u).x;
  particles[id.x].pos += vec4<f32>(particles[id.x].vel * DIFFUSIVITY, shade);
}
`;

test('WGSL: attributes, fn, struct, types with template lists', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  expectScope(tokens, '@', 'punctuation.definition.attribute.wgsl');
  expectScope(tokens, 'compute', 'entity.other.attribute-name.wgsl');
  expectScope(tokens, 'workgroup_size', 'entity.other.attribute-name.wgsl');
  expectScope(tokens, 'group', 'entity.other.attribute-name.wgsl');
  expectScope(tokens, 'binding', 'entity.other.attribute-name.wgsl');
  expectScope(tokens, 'builtin', 'entity.other.attribute-name.wgsl');
  expectScope(tokens, 'global_invocation_id', 'variable.language.builtin.wgsl');
  expectScope(tokens, 'local_invocation_index', 'variable.language.builtin.wgsl');
  expectScope(tokens, 'flat', 'support.constant.interpolation.wgsl');

  expectScope(tokens, 'fn', 'storage.type.function.wgsl');
  expectScope(tokens, 'main', 'entity.name.function.wgsl');
  // a user function named like a builtin is still a declaration
  expectScope(tokens, 'step', 'entity.name.function.wgsl');
  expectScope(tokens, 'struct', 'storage.type.struct.wgsl');
  expectScope(tokens, 'Particle', 'entity.name.type.struct.wgsl');
  expectScope(tokens, 'pos', 'variable.other.member.wgsl');
  expectScope(tokens, 'alias', 'storage.type.alias.wgsl');
  expectScope(tokens, 'Float4', 'entity.name.type.alias.wgsl');

  expectScope(tokens, 'vec4', 'support.type.vector.wgsl');
  expectScope(tokens, '<', 'punctuation.definition.template.begin.wgsl', 1);
  expectScope(tokens, 'f32', 'support.type.primitive.wgsl');
  expectScope(tokens, 'vec3f', 'support.type.vector.wgsl');
  expectScope(tokens, 'mat4x4f', 'support.type.matrix.wgsl');
  expectScope(tokens, 'array', 'support.type.builtin.wgsl');
  expectScope(tokens, 'atomic', 'support.type.builtin.wgsl');
  expectScope(tokens, 'ptr', 'support.type.builtin.wgsl');
  expectScope(tokens, 'sampler_comparison', 'support.type.sampler.wgsl');
  expectScope(tokens, 'texture_storage_2d', 'support.type.texture.wgsl');
  expectScope(tokens, 'rgba8unorm', 'support.constant.texel-format.wgsl');
});

test('WGSL: array<u32> and vec4<f32> close their template lists, nested too', async () => {
  const { tokens } = await tokenize('wgsl', 'var<storage> data: array<u32>;\nlet v = bitcast<vec4<u32>>(x);');
  expectScope(tokens, 'array', 'support.type.builtin.wgsl');
  expectScope(tokens, 'u32', 'meta.template.wgsl');
  expectScope(tokens, '>', 'punctuation.definition.template.end.wgsl', 1);
  expectScope(tokens, ';', 'punctuation.terminator.statement.wgsl');
  expectNoScope(tokens, ';', 'meta.template.wgsl');
  expectScope(tokens, 'bitcast', 'support.function.builtin.wgsl');
  expectScope(tokens, 'vec4', 'support.type.vector.wgsl');
  expectScope(tokens, '>', 'punctuation.definition.template.end.wgsl', 3);
  expectNoScope(tokens, 'x', 'meta.template.wgsl');
});

test('WGSL: address spaces, access modes and declarations', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  expectScope(tokens, 'var', 'storage.type.wgsl');
  expectScope(tokens, 'workgroup', 'storage.modifier.address-space.wgsl');
  expectScope(tokens, 'storage', 'storage.modifier.address-space.wgsl');
  expectScope(tokens, 'uniform', 'storage.modifier.address-space.wgsl');
  expectScope(tokens, 'function', 'storage.modifier.address-space.wgsl');
  expectScope(tokens, 'read_write', 'storage.modifier.access.wgsl');
  expectScope(tokens, 'write', 'storage.modifier.access.wgsl');
  expectScope(tokens, 'particles', 'variable.other.readwrite.wgsl');
  expectScope(tokens, 'let', 'storage.type.wgsl');
  expectScope(tokens, 'const', 'storage.type.wgsl');
  expectScope(tokens, 'override', 'storage.type.wgsl');
  expectScope(tokens, 'DIFFUSIVITY', 'variable.other.constant.wgsl');
  expectScope(tokens, 'id', 'variable.parameter.wgsl');
});

test('WGSL: keywords, directives and builtin functions', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  for (const keyword of ['if', 'else', 'for', 'loop', 'continuing', 'break', 'continue', 'switch', 'case', 'default', 'return', 'discard']) {
    expectScope(tokens, keyword, 'keyword.control.wgsl');
  }
  expectScope(tokens, 'const_assert', 'keyword.other.const-assert.wgsl');
  expectScope(tokens, 'enable', 'keyword.other.directive.wgsl');
  expectScope(tokens, 'f16', 'support.constant.extension.wgsl');
  expectScope(tokens, 'requires', 'keyword.other.directive.wgsl');
  expectScope(tokens, 'diagnostic', 'keyword.other.directive.wgsl');
  expectScope(tokens, 'off', 'support.constant.severity.wgsl');
  for (const fn of ['arrayLength', 'atomicAdd', 'workgroupBarrier', 'textureSampleCompareLevel', 'unpack4x8unorm', 'select', 'all', 'bitcast']) {
    expectScope(tokens, fn, 'support.function.builtin.wgsl');
  }
  expectScope(tokens, 'true', 'constant.language.boolean.wgsl');
  expectScope(tokens, '->', 'keyword.operator.arrow.wgsl');
  expectScope(tokens, '<<=', 'keyword.operator.assignment.compound.wgsl');
  expectScope(tokens, '&&', 'keyword.operator.logical.wgsl');
  expectScope(tokens, '_', 'variable.language.phony.wgsl');
});

test('WGSL: numbers with suffixes, hex and exponents', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  expectScope(tokens, '1.0', 'constant.numeric.float.decimal.wgsl');
  expectScope(tokens, 'f', 'keyword.other.unit.suffix.wgsl');
  expectScope(tokens, 'f', 'constant.numeric.float.decimal.wgsl');
  expectScope(tokens, '0x1F', 'constant.numeric.integer.hexadecimal.wgsl');
  expectScope(onLine(tokens, '0x1Fu'), 'u', 'constant.numeric.integer.hexadecimal.wgsl');
  expectScope(onLine(tokens, '0x1Fu'), 'u', 'keyword.other.unit.suffix.wgsl');
  expectScope(tokens, '0x1.8p3', 'constant.numeric.float.hexadecimal.wgsl');
  expectScope(tokens, '1e-3', 'constant.numeric.float.decimal.wgsl');
  expectScope(tokens, 'h', 'keyword.other.unit.suffix.wgsl');
  expectScope(tokens, '.5', 'constant.numeric.float.decimal.wgsl');
  expectScope(tokens, '42', 'constant.numeric.integer.decimal.wgsl');
  expectScope(tokens, 'i', 'keyword.other.unit.suffix.wgsl');
  expectScope(tokens, '64', 'constant.numeric.integer.decimal.wgsl');
});

test('WGSL: line comments and nested block comments', async () => {
  const { tokens } = await tokenize('wgsl', '// line\n/* a /* b */ c */ let x = 1;\n/* open\n/* inner */\nstill */ fn f() {}');
  expectScope(tokens, '//', 'punctuation.definition.comment.wgsl');
  expectScope(tokens, ' line', 'comment.line.double-slash.wgsl');
  expectScope(tokens, ' b ', 'comment.block.wgsl');
  // after the inner `*/` the outer comment is still open
  expectScope(tokens, ' c ', 'comment.block.wgsl');
  expectScope(tokens, 'let', 'storage.type.wgsl');
  expectNoScope(tokens, 'let', 'comment.block.wgsl');
  expectScope(tokens, 'still ', 'comment.block.wgsl');
  expectScope(tokens, 'fn', 'storage.type.function.wgsl');
  expectNoScope(tokens, 'fn', 'comment.block.wgsl');
});

test('WGSL: a realistic kernel tokenizes cleanly', async () => {
  expectCleanFile(await tokenize('wgsl', wgslKernel));
  const { tokens } = await tokenize('wgsl', 'let bad = 07;');
  expectScope(tokens, '07', 'invalid.illegal.numeric.wgsl');
});

// ---------------------------------------------------------------------------------------------------------------
// PTX

const ptxModule = String.raw`//
// Generated by NVIDIA NVVM Compiler
//
.version 8.0
.target sm_90
.address_size 64

.extern .func (.param .b32 func_retval0) vprintf(.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.global .align 4 .b8 table[4] = {1, 2, 3, 4};

	// .globl	scale
.visible .entry scale(
	.param .u64 .ptr .global .align 16 scale_param_0,
	.param .u32 scale_param_1
)
.maxntid 256, 1, 1
.minnctapersm 2
{
	.reg .pred 	%p<3>;
	.reg .f32 	%f<8>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<10>;
	.shared .align 16 .b8 smem[1024];
	.pragma "nounroll";

	ld.param.u64 	%rd1, [scale_param_0];
	ld.param.u32 	%r1, [scale_param_1];
	mov.u32 	%r2, %ctaid.x;
	mov.u32 	%r3, %ntid.x;
	mov.u32 	%r4, %tid.x;
	mov.u32 	%r11, %laneid;
	mov.u64 	%rd9, %clock64;
	mad.lo.s32 	%r5, %r2, %r3, %r4;
	setp.ge.s32 	%p1, %r5, %r1;
	@%p1 bra 	LBB0_2;
	cvta.to.global.u64 	%rd2, %rd1;
	mul.wide.s32 	%rd3, %r5, 16;
	add.s64 	%rd4, %rd2, %rd3;
	ld.global.nc.v4.f32 	{%f1, %f2, %f3, %f4}, [%rd4+4];
	fma.rn.ftz.f32 	%f5, %f1, 0f3F800000, -1.5;
	setp.ltu.f32 	%p2, %f5, 0d3FF0000000000000;
	@!%p2 bra.uni 	$L__BB0_3;
	atom.global.acquire.gpu.add.u32 	%r6, [%rd4], 1;
	red.relaxed.sys.global.max.s32 	[%rd4], %r6;
	st.shared::cta.b32 	[smem+-4], %r6;
	ld.global.cg.u32 	%r7, [%rd4];
	and.b32 	%r8, %r7, 0x10;
	shfl.sync.bfly.b32 	%r9|%p3, %r8, 16, 31, -1;
	bar.sync 	0;
	{ // callseq 0, 0
	.param .b64 param0;
	st.param.b64 	[param0], %rd4;
	call.uni (retval0), 
	vprintf, 
	(
	param0
	);
	} // callseq 0
$L__BB0_3:
	st.global.f32 	[%rd4], %f5; /* store
	the result */ membar.gl;
LBB0_2:
	ret;
}
`;

test('PTX: module directives', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScope(tokens, '.version', 'keyword.other.directive.ptx');
  expectScope(tokens, '8.0', 'constant.numeric.version.ptx');
  expectScope(tokens, '.target', 'keyword.other.directive.ptx');
  expectScope(tokens, 'sm_90', 'support.constant.target.ptx');
  expectScope(tokens, '.address_size', 'keyword.other.directive.ptx');
  expectScope(tokens, '64', 'constant.numeric.integer.decimal.ptx');
  expectScope(tokens, '.maxntid', 'keyword.other.directive.ptx');
  expectScope(tokens, '.minnctapersm', 'keyword.other.directive.ptx');
  expectScope(tokens, '.pragma', 'keyword.other.directive.ptx');
  expectScope(tokens, '.align', 'keyword.other.directive.ptx');
  expectScope(tokens, 'nounroll', 'string.quoted.double.ptx');
});

test('PTX: .entry, .func and .param declarations', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScope(tokens, '.visible', 'storage.modifier.linkage.ptx');
  expectScope(tokens, '.extern', 'storage.modifier.linkage.ptx');
  expectScope(tokens, '.entry', 'keyword.other.directive.ptx');
  expectScope(tokens, 'scale', 'entity.name.function.ptx');
  expectScope(tokens, '.func', 'keyword.other.directive.ptx');
  expectScope(tokens, 'vprintf', 'entity.name.function.ptx');
  expectScope(tokens, '.param', 'storage.modifier.state-space.ptx');
  expectScope(tokens, '.u64', 'storage.type.ptx');
  expectScope(tokens, '.ptr', 'keyword.other.directive.ptx');
  expectScope(tokens, 'scale_param_0', 'variable.parameter.ptx');
  expectScope(tokens, 'vprintf_param_1', 'variable.parameter.ptx');
  expectScope(tokens, 'func_retval0', 'variable.parameter.ptx');
  // a parameter read by an instruction is an operand
  expectScope(onLine(tokens, 'ld.param.u64'), 'scale_param_0', 'variable.other.ptx');
  expectScope(tokens, '.global', 'storage.modifier.state-space.ptx');
  expectScope(tokens, '.shared', 'storage.modifier.state-space.ptx');
  expectScope(tokens, '.b8', 'storage.type.ptx');
});

test('PTX: .reg .pred %p<3>; declares registers', async () => {
  const { tokens } = await tokenize('ptx', '\t.reg .pred \t%p<3>;');
  expectScope(tokens, '.reg', 'storage.modifier.state-space.ptx');
  expectScope(tokens, '.pred', 'storage.type.predicate.ptx');
  expectScope(tokens, '%p', 'variable.other.register.ptx');
  expectScope(tokens, '<', 'punctuation.definition.range.begin.ptx');
  expectScope(tokens, '3', 'constant.numeric.integer.decimal.ptx');
  expectScope(tokens, '>', 'punctuation.definition.range.end.ptx');
  expectScope(tokens, ';', 'punctuation.terminator.statement.ptx');
});

test('PTX: instructions and their modifiers', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScope(tokens, 'ld', 'keyword.other.instruction.ptx');
  expectScope(tokens, 'mad', 'keyword.other.instruction.ptx');
  expectScope(tokens, 'shfl', 'keyword.other.instruction.ptx');
  expectScope(tokens, 'ret', 'keyword.other.instruction.ptx');
  // an instruction after a block comment on the same line
  expectScope(tokens, 'membar', 'keyword.other.instruction.ptx');

  // ld.global.nc.v4.f32
  const ldLine = onLine(tokens, 'ld.global.nc.v4.f32');
  expectScope(ldLine, 'ld', 'keyword.other.instruction.ptx');
  expectScope(ldLine, '.global', 'storage.modifier.state-space.ptx');
  expectScope(ldLine, '.nc', 'keyword.other.modifier.cache.ptx');
  expectScope(ldLine, '.v4', 'storage.type.vector.ptx');
  expectScope(ldLine, '.f32', 'storage.type.ptx');
  expectScope(ldLine, '[', 'punctuation.definition.address.begin.ptx');
  expectScope(ldLine, '%rd4', 'meta.address.ptx');
  expectScope(ldLine, '4', 'constant.numeric.integer.decimal.ptx');

  expectScope(tokens, '.rn', 'keyword.other.modifier.rounding.ptx');
  expectScope(tokens, '.ftz', 'keyword.other.modifier.ptx');
  expectScope(tokens, '.wide', 'keyword.other.modifier.ptx');
  expectScope(tokens, '.lo', 'keyword.other.modifier.ptx');
  expectScope(tokens, '.ge', 'keyword.other.modifier.comparison.ptx');
  expectScope(tokens, '.ltu', 'keyword.other.modifier.comparison.ptx');
  expectScope(tokens, '.cg', 'keyword.other.modifier.cache.ptx');
  expectScope(tokens, '.acquire', 'keyword.other.modifier.memory-order.ptx');
  expectScope(tokens, '.relaxed', 'keyword.other.modifier.memory-order.ptx');
  expectScope(tokens, '.gpu', 'keyword.other.modifier.scope.ptx');
  expectScope(tokens, '.sys', 'keyword.other.modifier.scope.ptx');
  expectScope(tokens, '.add', 'keyword.other.modifier.operation.ptx');
  expectScope(tokens, '.max', 'keyword.other.modifier.operation.ptx');
  expectScope(tokens, '.shared::cta', 'storage.modifier.state-space.ptx');
  expectScope(tokens, '.sync', 'keyword.other.modifier.ptx');
  expectScope(tokens, 'call', 'keyword.other.instruction.ptx');
  // the operand lines of a call split over several lines are not instructions
  expectNoScope(tokens, 'param0', 'keyword.other.instruction.ptx', 2);
});

test('PTX: predicate guards, branches and labels', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  const guarded = onLine(tokens, '@%p1 bra');
  expectScope(guarded, '@', 'keyword.control.predicate.ptx');
  expectScope(guarded, '%p1', 'variable.other.register.predicate.ptx');
  expectScope(guarded, 'bra', 'keyword.other.instruction.ptx');
  expectScope(guarded, 'LBB0_2', 'entity.name.label.ptx');
  const negated = onLine(tokens, '@!%p2 bra.uni');
  expectScope(negated, '@', 'keyword.control.predicate.ptx');
  expectScope(negated, '!', 'keyword.operator.logical.not.ptx');
  expectScope(negated, '%p2', 'variable.other.register.predicate.ptx');
  expectScope(negated, '.uni', 'keyword.other.modifier.ptx');
  expectScope(negated, '$L__BB0_3', 'entity.name.label.ptx');
  // label definitions
  expectScope(onLine(tokens, '$L__BB0_3:'), '$L__BB0_3', 'entity.name.label.ptx');
  expectScope(onLine(tokens, '$L__BB0_3:'), ':', 'punctuation.separator.label.ptx');
  expectScope(onLine(tokens, 'LBB0_2:'), 'LBB0_2', 'entity.name.label.ptx');
  // a predicate used as an ordinary operand is a register
  expectScope(onLine(tokens, 'setp.ge.s32'), '%p1', 'variable.other.register.ptx');
});

test('PTX: registers, special registers and numbers', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScope(tokens, '%rd1', 'variable.other.register.ptx');
  expectScope(tokens, '%r5', 'variable.other.register.ptx');
  expectScope(tokens, '%tid.x', 'variable.language.special-register.ptx');
  expectScope(tokens, '%ntid.x', 'variable.language.special-register.ptx');
  expectScope(tokens, '%ctaid.x', 'variable.language.special-register.ptx');
  expectScope(tokens, '%laneid', 'variable.language.special-register.ptx');
  expectScope(tokens, '%clock64', 'variable.language.special-register.ptx');
  expectScope(tokens, '0f3F800000', 'constant.numeric.float.hexadecimal.ptx');
  expectScope(tokens, '0d3FF0000000000000', 'constant.numeric.float.hexadecimal.ptx');
  expectScope(tokens, '0x10', 'constant.numeric.integer.hexadecimal.ptx');
  expectScope(tokens, '-1.5', 'constant.numeric.float.decimal.ptx');
  expectScope(tokens, '-1', 'constant.numeric.integer.decimal.ptx');
  expectScope(tokens, '-4', 'constant.numeric.integer.decimal.ptx');
  const more = await tokenize('ptx', 'mov.u32 %r1, %envreg3; mov.u32 %r2, %nctaid.y; mov.u32 %r3, %smid; mov.u32 %r4, %warpid;');
  for (const reg of ['%envreg3', '%nctaid.y', '%smid', '%warpid']) {
    expectScope(more.tokens, reg, 'variable.language.special-register.ptx');
  }
});

test('PTX: comments, braces and a realistic module tokenizes cleanly', async () => {
  const result = await tokenize('ptx', ptxModule);
  const { tokens } = result;
  expectScope(tokens, '//', 'comment.line.double-slash.ptx');
  expectScope(tokens, ' Generated by NVIDIA NVVM Compiler', 'comment.line.double-slash.ptx');
  expectScope(tokens, ' .globl\tscale', 'comment.line.double-slash.ptx');
  expectScope(tokens, '/*', 'comment.block.ptx');
  expectScope(tokens, '\tthe result ', 'comment.block.ptx');
  expectScope(tokens, '{', 'punctuation.section.block.begin.ptx', 1);
  expectScope(tokens, '}', 'punctuation.section.block.end.ptx', 1);
  expectCleanFile(result);
});

// ---------------------------------------------------------------------------------------------------------------
// Metal Shading Language

const mslKernel = String.raw`// Particles, a blur, and a vertex/fragment pair.
#include <metal_stdlib>
#include "common.h"
#define TILE 16
#define MAX2(a, b) ((a) > (b) ? (a) : (b))
#if defined(__HAVE_MESH__) && TILE > 8
#pragma clang loop unroll(full)
#endif
using namespace metal;

/** Output of the vertex stage. */
struct VertexOut {
  float4 position [[position]];
  half3 color [[user(locn0)]];
  packed_float3 normal;
  float3x3 basis;
};

constant float kScale [[function_constant(0)]];
constexpr sampler linearSampler(coord::normalized, address::clamp_to_edge, filter::linear);

kernel void f(device float* a [[buffer(0)]], uint id [[thread_position_in_grid]])
{
  a[id] = 1.0f;
}

[[kernel]] void blur(texture2d<float, access::read> src [[texture(0)]],
                     texture2d<half, access::write> dst [[texture(1)]],
                     device atomic_uint* counter [[buffer(2)]],
                     constant Params& params [[buffer(3)]],
                     threadgroup float* scratch [[threadgroup(0)]],
                     uint2 gid [[thread_position_in_grid]],
                     uint tid [[thread_index_in_threadgroup]],
                     uint3 tg [[threadgroup_position_in_grid]]) {
  if (gid.x >= src.get_width()) {
    return;
  }
  float4 c = src.read(gid) * 0.5h + float4(0x1Fu, 1e-3f, .5, 'a');
  scratch[tid] = c.x;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  atomic_fetch_add_explicit(counter, 1u, memory_order_relaxed);
  simdgroup_matrix<float, 8, 8> m;
  uint bits = as_type<uint>(c.x);
  float r = metal::fast::sin(c.y) + static_cast<float>(bits) * M_PI_F;
  dst.write(half4(c), gid);
  char const* msg = "hi\n";
}

vertex VertexOut vmain(uint vid [[vertex_id]], const device packed_float3* pos [[buffer(0)]]) {
  VertexOut out;
  out.position = float4(pos[vid], 1.0);
  return out;
}

fragment half4 fmain(VertexOut in [[stage_in]], texture2d<float> t [[texture(0)]], sampler smp [[sampler(0)]]) {
  /* sample
     the texture */
  return half4(t.sample(smp, in.position.xy));
}
`;

test('MSL: kernel signature with address spaces and [[attributes]]', async () => {
  const { tokens } = await tokenize('msl', 'kernel void f(device float* a [[buffer(0)]], uint id [[thread_position_in_grid]])');
  expectScope(tokens, 'kernel', 'storage.modifier.function-qualifier.msl');
  expectScope(tokens, 'void', 'storage.type.primitive.msl');
  expectScope(tokens, 'f', 'entity.name.function.msl');
  expectScope(tokens, 'device', 'storage.modifier.address-space.msl');
  expectScope(tokens, 'float', 'storage.type.primitive.msl');
  expectScope(tokens, '*', 'storage.modifier.pointer.msl');
  expectScope(tokens, '[[', 'punctuation.definition.attribute.begin.msl');
  expectScope(tokens, 'buffer', 'entity.other.attribute-name.msl');
  expectScope(tokens, '0', 'constant.numeric.integer.decimal.msl');
  expectScope(tokens, '0', 'meta.attribute.msl');
  expectScope(tokens, ']]', 'punctuation.definition.attribute.end.msl');
  expectScope(tokens, 'uint', 'storage.type.primitive.msl');
  expectScope(tokens, 'thread_position_in_grid', 'entity.other.attribute-name.msl');
  expectNoScope(tokens, 'id', 'meta.attribute.msl');
});

test('MSL: preprocessor, namespaces and comments', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScope(tokens, '#', 'punctuation.definition.directive.msl');
  expectScope(tokens, 'include', 'keyword.control.directive.include.msl');
  expectScope(tokens, 'metal_stdlib', 'string.quoted.other.lt-gt.include.msl');
  expectScope(tokens, 'common.h', 'string.quoted.double.msl');
  expectScope(tokens, 'define', 'keyword.control.directive.define.msl');
  expectScope(tokens, 'TILE', 'entity.name.function.preprocessor.msl');
  expectScope(tokens, 'MAX2', 'entity.name.function.preprocessor.msl');
  expectScope(tokens, 'if', 'keyword.control.directive.conditional.msl', 0);
  expectScope(tokens, 'defined', 'keyword.control.directive.defined.msl');
  expectScope(tokens, 'pragma', 'keyword.control.directive.pragma.msl');
  expectScope(tokens, 'endif', 'keyword.control.directive.conditional.msl');
  expectScope(tokens, 'using', 'keyword.other.using.msl');
  expectScope(tokens, 'namespace', 'storage.type.namespace.msl');
  expectScope(tokens, 'metal', 'entity.name.namespace.msl');
  expectScope(tokens, '//', 'comment.line.double-slash.msl');
  expectScope(tokens, ' Output of the vertex stage. ', 'comment.block.documentation.msl');
  expectScope(tokens, '     the texture ', 'comment.block.msl');
});

test('MSL: types, templates and access qualifiers', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScope(tokens, 'struct', 'storage.type.struct.msl');
  expectScope(tokens, 'VertexOut', 'entity.name.type.struct.msl');
  expectScope(tokens, 'float4', 'storage.type.vector.msl');
  expectScope(tokens, 'half3', 'storage.type.vector.msl');
  expectScope(tokens, 'packed_float3', 'storage.type.vector.msl');
  expectScope(tokens, 'float3x3', 'storage.type.matrix.msl');
  expectScope(tokens, 'half', 'storage.type.primitive.msl');
  const blur = onLine(tokens, 'texture2d<float, access::read>');
  expectScope(blur, 'texture2d', 'support.type.texture.msl');
  expectScope(blur, '<', 'punctuation.definition.template.begin.msl');
  expectScope(blur, 'float', 'storage.type.primitive.msl');
  expectScope(blur, '>', 'punctuation.definition.template.end.msl');
  expectScope(tokens, 'access', 'entity.name.scope-resolution.msl');
  expectScope(tokens, 'read', 'storage.modifier.access.msl');
  expectScope(tokens, 'write', 'storage.modifier.access.msl');
  expectScope(tokens, 'sampler', 'support.type.sampler.msl');
  expectScope(tokens, 'atomic_uint', 'support.type.atomic.msl');
  expectScope(tokens, 'simdgroup_matrix', 'support.type.simdgroup.msl');
  expectScope(tokens, 'constant', 'storage.modifier.address-space.msl');
  expectScope(tokens, 'threadgroup', 'storage.modifier.address-space.msl');
  expectScope(tokens, 'Params', 'entity.name.type.msl');
  expectScope(tokens, '&', 'storage.modifier.reference.msl');
  expectScope(tokens, 'vertex', 'storage.modifier.function-qualifier.msl');
  expectScope(tokens, 'fragment', 'storage.modifier.function-qualifier.msl');
  expectScope(tokens, 'kernel', 'entity.other.attribute-name.msl', 1);
  expectScope(onLine(tokens, 'float4 position [[position]]'), 'position', 'variable.other.msl', 0);
  expectScope(onLine(tokens, 'float4 position [[position]]'), 'position', 'entity.other.attribute-name.msl', 1);
  for (const attribute of ['user', 'function_constant', 'texture', 'thread_index_in_threadgroup', 'threadgroup_position_in_grid', 'vertex_id', 'stage_in']) {
    expectScope(tokens, attribute, 'entity.other.attribute-name.msl');
  }
});

test('MSL: strings, numbers, library functions and control flow', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScope(tokens, 'hi', 'string.quoted.double.msl');
  expectScope(tokens, '\\n', 'constant.character.escape.msl');
  expectScope(onLine(tokens, "'a'"), 'a', 'string.quoted.single.msl');
  expectScope(tokens, '1.0', 'constant.numeric.float.decimal.msl');
  expectScope(onLine(tokens, '1.0f'), 'f', 'keyword.other.unit.suffix.msl');
  expectScope(tokens, '0x1F', 'constant.numeric.integer.hexadecimal.msl');
  expectScope(onLine(tokens, '0x1Fu'), 'u', 'keyword.other.unit.suffix.msl');
  expectScope(tokens, '0.5', 'constant.numeric.float.decimal.msl');
  expectScope(onLine(tokens, '0.5h'), 'h', 'keyword.other.unit.suffix.msl');
  expectScope(tokens, '1e-3', 'constant.numeric.float.decimal.msl');
  expectScope(tokens, '16', 'constant.numeric.integer.decimal.msl');
  for (const fn of ['threadgroup_barrier', 'atomic_fetch_add_explicit', 'sin', 'as_type']) {
    expectScope(tokens, fn, 'support.function.msl');
  }
  expectScope(tokens, 'get_width', 'support.function.member.msl');
  expectScope(tokens, 'sample', 'support.function.member.msl');
  expectScope(tokens, 'mem_threadgroup', 'support.constant.msl');
  expectScope(tokens, 'memory_order_relaxed', 'support.constant.msl');
  expectScope(tokens, 'M_PI_F', 'support.constant.msl');
  expectScope(tokens, 'static_cast', 'keyword.operator.cast.msl');
  expectScope(onLine(tokens, 'if (gid.x'), 'if', 'keyword.control.conditional.msl');
  expectScope(tokens, 'return', 'keyword.control.flow.msl');
  expectScope(tokens, 'vmain', 'entity.name.function.msl');
  expectScope(tokens, 'blur', 'entity.name.function.msl');
});

test('MSL: a realistic shader file tokenizes cleanly', async () => {
  expectCleanFile(await tokenize('msl', mslKernel));
});

// ---------------------------------------------------------------------------------------------------------------
// Language configurations

interface AutoClosingPair {
  open: string;
  close: string;
  notIn?: string[];
}

interface LanguageConfiguration {
  comments: { lineComment: string; blockComment: [string, string] };
  brackets: [string, string][];
  autoClosingPairs: AutoClosingPair[];
  surroundingPairs: [string, string][];
  folding: { markers: { start: string; end: string } };
  wordPattern: string;
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
}

function configuration(id: string): LanguageConfiguration {
  return JSON.parse(readFileSync(language(id).configurationFile, 'utf8')) as LanguageConfiguration;
}

function words(pattern: string, text: string): string[] {
  return text.match(new RegExp(pattern, 'g')) ?? [];
}

test('language configurations: comments, brackets, pairs and compilable patterns', () => {
  for (const lang of languages) {
    const conf = configuration(lang.id);
    assert.equal(conf.comments.lineComment, '//');
    assert.deepEqual(conf.comments.blockComment, ['/*', '*/']);
    for (const pair of [['{', '}'], ['[', ']'], ['(', ')']]) {
      assert.ok(conf.brackets.some((b) => b[0] === pair[0] && b[1] === pair[1]), `${lang.id} brackets ${pair.join('')}`);
      assert.ok(conf.surroundingPairs.some((b) => b[0] === pair[0] && b[1] === pair[1]), `${lang.id} surrounds ${pair.join('')}`);
      assert.ok(conf.autoClosingPairs.some((p) => p.open === pair[0] && p.close === pair[1]), `${lang.id} auto-closes ${pair.join('')}`);
    }
    for (const pair of conf.autoClosingPairs) {
      if (pair.open.startsWith('/*') || pair.open === '"' || pair.open === "'") {
        assert.deepEqual(pair.notIn, ['string', 'comment'], `${lang.id}: ${pair.open} does not auto-close in strings and comments`);
      }
    }
    for (const pattern of [conf.wordPattern, conf.folding.markers.start, conf.folding.markers.end,
      conf.indentationRules.increaseIndentPattern, conf.indentationRules.decreaseIndentPattern]) {
      assert.doesNotThrow(() => new RegExp(pattern), `${lang.id}: ${pattern} is a valid JavaScript regex`);
    }
    assert.match('// #region kernels', new RegExp(conf.folding.markers.start));
    assert.match('// #endregion', new RegExp(conf.folding.markers.end));
  }
});

test('language configurations: words, folding and indentation fit each language', () => {
  const ptx = configuration('ptx');
  assert.deepEqual(words(ptx.wordPattern, 'ld.global.u32 %rd12, [%rd1]; mov.u32 %r1, %tid.x;'),
    ['ld', '.global', '.u32', '%rd12', '%rd1', 'mov', '.u32', '%r1', '%tid.x']);
  assert.deepEqual(words(ptx.wordPattern, '.visible .entry k( @%p1 bra $L__BB0_2; 0f3F800000'),
    ['.visible', '.entry', 'k', '%p1', 'bra', '$L__BB0_2', '0f3F800000']);
  assert.match('{', new RegExp(ptx.folding.markers.start));
  assert.match('\t{ // callseq 0, 0', new RegExp(ptx.folding.markers.start));
  assert.doesNotMatch('\t// a comment with a {', new RegExp(ptx.folding.markers.start));
  assert.match('\t} // callseq 0', new RegExp(ptx.folding.markers.end));
  assert.match('.visible .entry k(', new RegExp(ptx.indentationRules.increaseIndentPattern));

  const wgsl = configuration('wgsl');
  assert.deepEqual(words(wgsl.wordPattern, '@compute fn main_1(v: vec3f) { let x = 1.5; }'),
    ['compute', 'fn', 'main_1', 'v', 'vec3f', 'let', 'x', '1.5']);
  assert.match('fn main() {', new RegExp(wgsl.indentationRules.increaseIndentPattern));
  assert.match('}', new RegExp(wgsl.indentationRules.decreaseIndentPattern));

  const msl = configuration('msl');
  assert.ok(msl.autoClosingPairs.some((p) => p.open === '[[' && p.close === ']]'), 'MSL auto-closes [[ ]]');
  assert.ok(msl.autoClosingPairs.some((p) => p.open === '"' && p.close === '"'), 'MSL auto-closes strings');
  assert.deepEqual(words(msl.wordPattern, 'device float4* a [[buffer(0)]]'), ['device', 'float4', 'a', 'buffer', '0']);
  assert.match('#pragma region helpers', new RegExp(msl.folding.markers.start));
  assert.match('kernel void f(device float* a,', new RegExp(msl.indentationRules.increaseIndentPattern));
});
