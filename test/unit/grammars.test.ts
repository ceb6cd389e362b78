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
    assert.fail(
      `no token #${occurrence} with text ${JSON.stringify(text)} (found ${matches.length}); tokens:\n${describe(tokens)}`,
    );
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

/** A table of expectations: [text, scope] or [text, scope, occurrence], each checked as expectScope. */
function expectScopes(
  tokens: readonly Token[],
  table: readonly (readonly [string, string] | readonly [string, string, number])[],
): void {
  for (const [text, scope, occurrence] of table) expectScope(tokens, text, scope, occurrence ?? 0);
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
  assert.equal(
    result.finalState.depth,
    1,
    `a begin/end rule was left open at the end of the file:\n${describe(result.tokens)}`,
  );
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
  expectScopes(tokens, [
    ['@', 'punctuation.definition.attribute.wgsl'],
    ['compute', 'entity.other.attribute-name.wgsl'],
    ['workgroup_size', 'entity.other.attribute-name.wgsl'],
    ['group', 'entity.other.attribute-name.wgsl'],
    ['binding', 'entity.other.attribute-name.wgsl'],
    ['builtin', 'entity.other.attribute-name.wgsl'],
    ['global_invocation_id', 'variable.language.builtin.wgsl'],
    ['local_invocation_index', 'variable.language.builtin.wgsl'],
    ['flat', 'support.constant.interpolation.wgsl'],
  ]);

  expectScopes(tokens, [
    ['fn', 'storage.type.function.wgsl'],
    ['main', 'entity.name.function.wgsl'],
    // a user function named like a builtin is still a declaration
    ['step', 'entity.name.function.wgsl'],
    ['struct', 'storage.type.struct.wgsl'],
    ['Particle', 'entity.name.type.struct.wgsl'],
    ['pos', 'variable.other.member.wgsl'],
    ['alias', 'storage.type.alias.wgsl'],
    ['Float4', 'entity.name.type.alias.wgsl'],
  ]);

  expectScopes(tokens, [
    ['vec4', 'support.type.vector.wgsl'],
    ['<', 'punctuation.definition.template.begin.wgsl', 1],
    ['f32', 'support.type.primitive.wgsl'],
    ['vec3f', 'support.type.vector.wgsl'],
    ['mat4x4f', 'support.type.matrix.wgsl'],
    ['array', 'support.type.builtin.wgsl'],
    ['atomic', 'support.type.builtin.wgsl'],
    ['ptr', 'support.type.builtin.wgsl'],
    ['sampler_comparison', 'support.type.sampler.wgsl'],
    ['texture_storage_2d', 'support.type.texture.wgsl'],
    ['rgba8unorm', 'support.constant.texel-format.wgsl'],
  ]);
});

test('WGSL: array<u32> and vec4<f32> close their template lists, nested too', async () => {
  const { tokens } = await tokenize('wgsl', 'var<storage> data: array<u32>;\nlet v = bitcast<vec4<u32>>(x);');
  expectScopes(tokens, [
    ['array', 'support.type.builtin.wgsl'],
    ['u32', 'meta.template.wgsl'],
    ['>', 'punctuation.definition.template.end.wgsl', 1],
    [';', 'punctuation.terminator.statement.wgsl'],
  ]);
  expectNoScope(tokens, ';', 'meta.template.wgsl');
  expectScopes(tokens, [
    ['bitcast', 'support.function.builtin.wgsl'],
    ['vec4', 'support.type.vector.wgsl'],
    ['>', 'punctuation.definition.template.end.wgsl', 3],
  ]);
  expectNoScope(tokens, 'x', 'meta.template.wgsl');
});

test('WGSL: address spaces, access modes and declarations', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  expectScopes(tokens, [
    ['var', 'storage.type.wgsl'],
    ['workgroup', 'storage.modifier.address-space.wgsl'],
    ['storage', 'storage.modifier.address-space.wgsl'],
    ['uniform', 'storage.modifier.address-space.wgsl'],
    ['function', 'storage.modifier.address-space.wgsl'],
    ['read_write', 'storage.modifier.access.wgsl'],
    ['write', 'storage.modifier.access.wgsl'],
    ['particles', 'variable.other.readwrite.wgsl'],
    ['let', 'storage.type.wgsl'],
    ['const', 'storage.type.wgsl'],
    ['override', 'storage.type.wgsl'],
    ['DIFFUSIVITY', 'variable.other.constant.wgsl'],
    ['id', 'variable.parameter.wgsl'],
  ]);
});

test('WGSL: keywords, directives and builtin functions', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  for (const keyword of [
    'if',
    'else',
    'for',
    'loop',
    'continuing',
    'break',
    'continue',
    'switch',
    'case',
    'default',
    'return',
    'discard',
  ]) {
    expectScope(tokens, keyword, 'keyword.control.wgsl');
  }
  expectScopes(tokens, [
    ['const_assert', 'keyword.other.const-assert.wgsl'],
    ['enable', 'keyword.other.directive.wgsl'],
    ['f16', 'support.constant.extension.wgsl'],
    ['requires', 'keyword.other.directive.wgsl'],
    ['diagnostic', 'keyword.other.directive.wgsl'],
    ['off', 'support.constant.severity.wgsl'],
  ]);
  for (const fn of [
    'arrayLength',
    'atomicAdd',
    'workgroupBarrier',
    'textureSampleCompareLevel',
    'unpack4x8unorm',
    'select',
    'all',
    'bitcast',
  ]) {
    expectScope(tokens, fn, 'support.function.builtin.wgsl');
  }
  expectScopes(tokens, [
    ['true', 'constant.language.boolean.wgsl'],
    ['->', 'keyword.operator.arrow.wgsl'],
    ['<<=', 'keyword.operator.assignment.compound.wgsl'],
    ['&&', 'keyword.operator.logical.wgsl'],
    ['_', 'variable.language.phony.wgsl'],
  ]);
});

test('WGSL: numbers with suffixes, hex and exponents', async () => {
  const { tokens } = await tokenize('wgsl', wgslKernel);
  expectScopes(tokens, [
    ['1.0', 'constant.numeric.float.decimal.wgsl'],
    ['f', 'keyword.other.unit.suffix.wgsl'],
    ['f', 'constant.numeric.float.decimal.wgsl'],
    ['0x1F', 'constant.numeric.integer.hexadecimal.wgsl'],
  ]);
  expectScopes(onLine(tokens, '0x1Fu'), [
    ['u', 'constant.numeric.integer.hexadecimal.wgsl'],
    ['u', 'keyword.other.unit.suffix.wgsl'],
  ]);
  expectScopes(tokens, [
    ['0x1.8p3', 'constant.numeric.float.hexadecimal.wgsl'],
    ['1e-3', 'constant.numeric.float.decimal.wgsl'],
    ['h', 'keyword.other.unit.suffix.wgsl'],
    ['.5', 'constant.numeric.float.decimal.wgsl'],
    ['42', 'constant.numeric.integer.decimal.wgsl'],
    ['i', 'keyword.other.unit.suffix.wgsl'],
    ['64', 'constant.numeric.integer.decimal.wgsl'],
  ]);
});

test('WGSL: line comments and nested block comments', async () => {
  const { tokens } = await tokenize(
    'wgsl',
    '// line\n/* a /* b */ c */ let x = 1;\n/* open\n/* inner */\nstill */ fn f() {}',
  );
  expectScopes(tokens, [
    ['//', 'punctuation.definition.comment.wgsl'],
    [' line', 'comment.line.double-slash.wgsl'],
    [' b ', 'comment.block.wgsl'],
    // after the inner `*/` the outer comment is still open
    [' c ', 'comment.block.wgsl'],
    ['let', 'storage.type.wgsl'],
  ]);
  expectNoScope(tokens, 'let', 'comment.block.wgsl');
  expectScopes(tokens, [
    ['still ', 'comment.block.wgsl'],
    ['fn', 'storage.type.function.wgsl'],
  ]);
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
  expectScopes(tokens, [
    ['.version', 'keyword.other.directive.ptx'],
    ['8.0', 'constant.numeric.version.ptx'],
    ['.target', 'keyword.other.directive.ptx'],
    ['sm_90', 'support.constant.target.ptx'],
    ['.address_size', 'keyword.other.directive.ptx'],
    ['64', 'constant.numeric.integer.decimal.ptx'],
    ['.maxntid', 'keyword.other.directive.ptx'],
    ['.minnctapersm', 'keyword.other.directive.ptx'],
    ['.pragma', 'keyword.other.directive.ptx'],
    ['.align', 'keyword.other.directive.ptx'],
    ['nounroll', 'string.quoted.double.ptx'],
  ]);
});

test('PTX: .entry, .func and .param declarations', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScopes(tokens, [
    ['.visible', 'storage.modifier.linkage.ptx'],
    ['.extern', 'storage.modifier.linkage.ptx'],
    ['.entry', 'keyword.other.directive.ptx'],
    ['scale', 'entity.name.function.ptx'],
    ['.func', 'keyword.other.directive.ptx'],
    ['vprintf', 'entity.name.function.ptx'],
    ['.param', 'storage.modifier.state-space.ptx'],
    ['.u64', 'storage.type.ptx'],
    ['.ptr', 'keyword.other.directive.ptx'],
    ['scale_param_0', 'variable.parameter.ptx'],
    ['vprintf_param_1', 'variable.parameter.ptx'],
    ['func_retval0', 'variable.parameter.ptx'],
  ]);
  // a parameter read by an instruction is an operand
  expectScope(onLine(tokens, 'ld.param.u64'), 'scale_param_0', 'variable.other.ptx');
  expectScopes(tokens, [
    ['.global', 'storage.modifier.state-space.ptx'],
    ['.shared', 'storage.modifier.state-space.ptx'],
    ['.b8', 'storage.type.ptx'],
  ]);
});

test('PTX: .reg .pred %p<3>; declares registers', async () => {
  const { tokens } = await tokenize('ptx', '\t.reg .pred \t%p<3>;');
  expectScopes(tokens, [
    ['.reg', 'storage.modifier.state-space.ptx'],
    ['.pred', 'storage.type.predicate.ptx'],
    ['%p', 'variable.other.register.ptx'],
    ['<', 'punctuation.definition.range.begin.ptx'],
    ['3', 'constant.numeric.integer.decimal.ptx'],
    ['>', 'punctuation.definition.range.end.ptx'],
    [';', 'punctuation.terminator.statement.ptx'],
  ]);
});

test('PTX: instructions and their modifiers', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScopes(tokens, [
    ['ld', 'keyword.other.instruction.ptx'],
    ['mad', 'keyword.other.instruction.ptx'],
    ['shfl', 'keyword.other.instruction.ptx'],
    ['ret', 'keyword.other.instruction.ptx'],
    // an instruction after a block comment on the same line
    ['membar', 'keyword.other.instruction.ptx'],
  ]);

  // ld.global.nc.v4.f32
  const ldLine = onLine(tokens, 'ld.global.nc.v4.f32');
  expectScopes(ldLine, [
    ['ld', 'keyword.other.instruction.ptx'],
    ['.global', 'storage.modifier.state-space.ptx'],
    ['.nc', 'keyword.other.modifier.cache.ptx'],
    ['.v4', 'storage.type.vector.ptx'],
    ['.f32', 'storage.type.ptx'],
    ['[', 'punctuation.definition.address.begin.ptx'],
    ['%rd4', 'meta.address.ptx'],
    ['4', 'constant.numeric.integer.decimal.ptx'],
  ]);

  expectScopes(tokens, [
    ['.rn', 'keyword.other.modifier.rounding.ptx'],
    ['.ftz', 'keyword.other.modifier.ptx'],
    ['.wide', 'keyword.other.modifier.ptx'],
    ['.lo', 'keyword.other.modifier.ptx'],
    ['.ge', 'keyword.other.modifier.comparison.ptx'],
    ['.ltu', 'keyword.other.modifier.comparison.ptx'],
    ['.cg', 'keyword.other.modifier.cache.ptx'],
    ['.acquire', 'keyword.other.modifier.memory-order.ptx'],
    ['.relaxed', 'keyword.other.modifier.memory-order.ptx'],
    ['.gpu', 'keyword.other.modifier.scope.ptx'],
    ['.sys', 'keyword.other.modifier.scope.ptx'],
    ['.add', 'keyword.other.modifier.operation.ptx'],
    ['.max', 'keyword.other.modifier.operation.ptx'],
    ['.shared::cta', 'storage.modifier.state-space.ptx'],
    ['.sync', 'keyword.other.modifier.ptx'],
    ['call', 'keyword.other.instruction.ptx'],
  ]);
  // the operand lines of a call split over several lines are not instructions
  expectNoScope(tokens, 'param0', 'keyword.other.instruction.ptx', 2);
});

test('PTX: predicate guards, branches and labels', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  const guarded = onLine(tokens, '@%p1 bra');
  expectScopes(guarded, [
    ['@', 'keyword.control.predicate.ptx'],
    ['%p1', 'variable.other.register.predicate.ptx'],
    ['bra', 'keyword.other.instruction.ptx'],
    ['LBB0_2', 'entity.name.label.ptx'],
  ]);
  const negated = onLine(tokens, '@!%p2 bra.uni');
  expectScopes(negated, [
    ['@', 'keyword.control.predicate.ptx'],
    ['!', 'keyword.operator.logical.not.ptx'],
    ['%p2', 'variable.other.register.predicate.ptx'],
    ['.uni', 'keyword.other.modifier.ptx'],
    ['$L__BB0_3', 'entity.name.label.ptx'],
  ]);
  // label definitions
  expectScopes(onLine(tokens, '$L__BB0_3:'), [
    ['$L__BB0_3', 'entity.name.label.ptx'],
    [':', 'punctuation.separator.label.ptx'],
  ]);
  expectScope(onLine(tokens, 'LBB0_2:'), 'LBB0_2', 'entity.name.label.ptx');
  // a predicate used as an ordinary operand is a register
  expectScope(onLine(tokens, 'setp.ge.s32'), '%p1', 'variable.other.register.ptx');
});

test('PTX: registers, special registers and numbers', async () => {
  const { tokens } = await tokenize('ptx', ptxModule);
  expectScopes(tokens, [
    ['%rd1', 'variable.other.register.ptx'],
    ['%r5', 'variable.other.register.ptx'],
    ['%tid.x', 'variable.language.special-register.ptx'],
    ['%ntid.x', 'variable.language.special-register.ptx'],
    ['%ctaid.x', 'variable.language.special-register.ptx'],
    ['%laneid', 'variable.language.special-register.ptx'],
    ['%clock64', 'variable.language.special-register.ptx'],
    ['0f3F800000', 'constant.numeric.float.hexadecimal.ptx'],
    ['0d3FF0000000000000', 'constant.numeric.float.hexadecimal.ptx'],
    ['0x10', 'constant.numeric.integer.hexadecimal.ptx'],
    ['-1.5', 'constant.numeric.float.decimal.ptx'],
    ['-1', 'constant.numeric.integer.decimal.ptx'],
    ['-4', 'constant.numeric.integer.decimal.ptx'],
  ]);
  const more = await tokenize(
    'ptx',
    'mov.u32 %r1, %envreg3; mov.u32 %r2, %nctaid.y; mov.u32 %r3, %smid; mov.u32 %r4, %warpid;',
  );
  for (const reg of ['%envreg3', '%nctaid.y', '%smid', '%warpid']) {
    expectScope(more.tokens, reg, 'variable.language.special-register.ptx');
  }
});

test('PTX: comments, braces and a realistic module tokenizes cleanly', async () => {
  const result = await tokenize('ptx', ptxModule);
  const { tokens } = result;
  expectScopes(tokens, [
    ['//', 'comment.line.double-slash.ptx'],
    [' Generated by NVIDIA NVVM Compiler', 'comment.line.double-slash.ptx'],
    [' .globl\tscale', 'comment.line.double-slash.ptx'],
    ['/*', 'comment.block.ptx'],
    ['\tthe result ', 'comment.block.ptx'],
    ['{', 'punctuation.section.block.begin.ptx', 1],
    ['}', 'punctuation.section.block.end.ptx', 1],
  ]);
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
  const { tokens } = await tokenize(
    'msl',
    'kernel void f(device float* a [[buffer(0)]], uint id [[thread_position_in_grid]])',
  );
  expectScopes(tokens, [
    ['kernel', 'storage.modifier.function-qualifier.msl'],
    ['void', 'storage.type.primitive.msl'],
    ['f', 'entity.name.function.msl'],
    ['device', 'storage.modifier.address-space.msl'],
    ['float', 'storage.type.primitive.msl'],
    ['*', 'storage.modifier.pointer.msl'],
    ['[[', 'punctuation.definition.attribute.begin.msl'],
    ['buffer', 'entity.other.attribute-name.msl'],
    ['0', 'constant.numeric.integer.decimal.msl'],
    ['0', 'meta.attribute.msl'],
    [']]', 'punctuation.definition.attribute.end.msl'],
    ['uint', 'storage.type.primitive.msl'],
    ['thread_position_in_grid', 'entity.other.attribute-name.msl'],
  ]);
  expectNoScope(tokens, 'id', 'meta.attribute.msl');
});

test('MSL: preprocessor, namespaces and comments', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScopes(tokens, [
    ['#', 'punctuation.definition.directive.msl'],
    ['include', 'keyword.control.directive.include.msl'],
    ['metal_stdlib', 'string.quoted.other.lt-gt.include.msl'],
    ['common.h', 'string.quoted.double.msl'],
    ['define', 'keyword.control.directive.define.msl'],
    ['TILE', 'entity.name.function.preprocessor.msl'],
    ['MAX2', 'entity.name.function.preprocessor.msl'],
    ['if', 'keyword.control.directive.conditional.msl', 0],
    ['defined', 'keyword.control.directive.defined.msl'],
    ['pragma', 'keyword.control.directive.pragma.msl'],
    ['endif', 'keyword.control.directive.conditional.msl'],
    ['using', 'keyword.other.using.msl'],
    ['namespace', 'storage.type.namespace.msl'],
    ['metal', 'entity.name.namespace.msl'],
    ['//', 'comment.line.double-slash.msl'],
    [' Output of the vertex stage. ', 'comment.block.documentation.msl'],
    ['     the texture ', 'comment.block.msl'],
  ]);
});

test('MSL: types, templates and access qualifiers', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScopes(tokens, [
    ['struct', 'storage.type.struct.msl'],
    ['VertexOut', 'entity.name.type.struct.msl'],
    ['float4', 'storage.type.vector.msl'],
    ['half3', 'storage.type.vector.msl'],
    ['packed_float3', 'storage.type.vector.msl'],
    ['float3x3', 'storage.type.matrix.msl'],
    ['half', 'storage.type.primitive.msl'],
  ]);
  const blur = onLine(tokens, 'texture2d<float, access::read>');
  expectScopes(blur, [
    ['texture2d', 'support.type.texture.msl'],
    ['<', 'punctuation.definition.template.begin.msl'],
    ['float', 'storage.type.primitive.msl'],
    ['>', 'punctuation.definition.template.end.msl'],
  ]);
  expectScopes(tokens, [
    ['access', 'entity.name.scope-resolution.msl'],
    ['read', 'storage.modifier.access.msl'],
    ['write', 'storage.modifier.access.msl'],
    ['sampler', 'support.type.sampler.msl'],
    ['atomic_uint', 'support.type.atomic.msl'],
    ['simdgroup_matrix', 'support.type.simdgroup.msl'],
    ['constant', 'storage.modifier.address-space.msl'],
    ['threadgroup', 'storage.modifier.address-space.msl'],
    ['Params', 'entity.name.type.msl'],
    ['&', 'storage.modifier.reference.msl'],
    ['vertex', 'storage.modifier.function-qualifier.msl'],
    ['fragment', 'storage.modifier.function-qualifier.msl'],
    ['kernel', 'entity.other.attribute-name.msl', 1],
  ]);
  expectScopes(onLine(tokens, 'float4 position [[position]]'), [
    ['position', 'variable.other.msl', 0],
    ['position', 'entity.other.attribute-name.msl', 1],
  ]);
  for (const attribute of [
    'user',
    'function_constant',
    'texture',
    'thread_index_in_threadgroup',
    'threadgroup_position_in_grid',
    'vertex_id',
    'stage_in',
  ]) {
    expectScope(tokens, attribute, 'entity.other.attribute-name.msl');
  }
});

test('MSL: strings, numbers, library functions and control flow', async () => {
  const { tokens } = await tokenize('msl', mslKernel);
  expectScopes(tokens, [
    ['hi', 'string.quoted.double.msl'],
    ['\\n', 'constant.character.escape.msl'],
  ]);
  expectScope(onLine(tokens, "'a'"), 'a', 'string.quoted.single.msl');
  expectScope(tokens, '1.0', 'constant.numeric.float.decimal.msl');
  expectScope(onLine(tokens, '1.0f'), 'f', 'keyword.other.unit.suffix.msl');
  expectScope(tokens, '0x1F', 'constant.numeric.integer.hexadecimal.msl');
  expectScope(onLine(tokens, '0x1Fu'), 'u', 'keyword.other.unit.suffix.msl');
  expectScope(tokens, '0.5', 'constant.numeric.float.decimal.msl');
  expectScope(onLine(tokens, '0.5h'), 'h', 'keyword.other.unit.suffix.msl');
  expectScopes(tokens, [
    ['1e-3', 'constant.numeric.float.decimal.msl'],
    ['16', 'constant.numeric.integer.decimal.msl'],
  ]);
  for (const fn of ['threadgroup_barrier', 'atomic_fetch_add_explicit', 'sin', 'as_type']) {
    expectScope(tokens, fn, 'support.function.msl');
  }
  expectScopes(tokens, [
    ['get_width', 'support.function.member.msl'],
    ['sample', 'support.function.member.msl'],
    ['mem_threadgroup', 'support.constant.msl'],
    ['memory_order_relaxed', 'support.constant.msl'],
    ['M_PI_F', 'support.constant.msl'],
    ['static_cast', 'keyword.operator.cast.msl'],
  ]);
  expectScope(onLine(tokens, 'if (gid.x'), 'if', 'keyword.control.conditional.msl');
  expectScopes(tokens, [
    ['return', 'keyword.control.flow.msl'],
    ['vmain', 'entity.name.function.msl'],
    ['blur', 'entity.name.function.msl'],
  ]);
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
    for (const pair of [
      ['{', '}'],
      ['[', ']'],
      ['(', ')'],
    ]) {
      assert.ok(
        conf.brackets.some((b) => b[0] === pair[0] && b[1] === pair[1]),
        `${lang.id} brackets ${pair.join('')}`,
      );
      assert.ok(
        conf.surroundingPairs.some((b) => b[0] === pair[0] && b[1] === pair[1]),
        `${lang.id} surrounds ${pair.join('')}`,
      );
      assert.ok(
        conf.autoClosingPairs.some((p) => p.open === pair[0] && p.close === pair[1]),
        `${lang.id} auto-closes ${pair.join('')}`,
      );
    }
    for (const pair of conf.autoClosingPairs) {
      if (pair.open.startsWith('/*') || pair.open === '"' || pair.open === "'") {
        assert.deepEqual(
          pair.notIn,
          ['string', 'comment'],
          `${lang.id}: ${pair.open} does not auto-close in strings and comments`,
        );
      }
    }
    for (const pattern of [
      conf.wordPattern,
      conf.folding.markers.start,
      conf.folding.markers.end,
      conf.indentationRules.increaseIndentPattern,
      conf.indentationRules.decreaseIndentPattern,
    ]) {
      assert.doesNotThrow(() => new RegExp(pattern), `${lang.id}: ${pattern} is a valid JavaScript regex`);
    }
    assert.match('// #region kernels', new RegExp(conf.folding.markers.start));
    assert.match('// #endregion', new RegExp(conf.folding.markers.end));
  }
});

test('language configurations: words, folding and indentation fit each language', () => {
  const ptx = configuration('ptx');
  assert.deepEqual(words(ptx.wordPattern, 'ld.global.u32 %rd12, [%rd1]; mov.u32 %r1, %tid.x;'), [
    'ld',
    '.global',
    '.u32',
    '%rd12',
    '%rd1',
    'mov',
    '.u32',
    '%r1',
    '%tid.x',
  ]);
  assert.deepEqual(words(ptx.wordPattern, '.visible .entry k( @%p1 bra $L__BB0_2; 0f3F800000'), [
    '.visible',
    '.entry',
    'k',
    '%p1',
    'bra',
    '$L__BB0_2',
    '0f3F800000',
  ]);
  assert.match('{', new RegExp(ptx.folding.markers.start));
  assert.match('\t{ // callseq 0, 0', new RegExp(ptx.folding.markers.start));
  assert.doesNotMatch('\t// a comment with a {', new RegExp(ptx.folding.markers.start));
  assert.match('\t} // callseq 0', new RegExp(ptx.folding.markers.end));
  assert.match('.visible .entry k(', new RegExp(ptx.indentationRules.increaseIndentPattern));

  const wgsl = configuration('wgsl');
  assert.deepEqual(words(wgsl.wordPattern, '@compute fn main_1(v: vec3f) { let x = 1.5; }'), [
    'compute',
    'fn',
    'main_1',
    'v',
    'vec3f',
    'let',
    'x',
    '1.5',
  ]);
  assert.match('fn main() {', new RegExp(wgsl.indentationRules.increaseIndentPattern));
  assert.match('}', new RegExp(wgsl.indentationRules.decreaseIndentPattern));

  const msl = configuration('msl');
  assert.ok(
    msl.autoClosingPairs.some((p) => p.open === '[[' && p.close === ']]'),
    'MSL auto-closes [[ ]]',
  );
  assert.ok(
    msl.autoClosingPairs.some((p) => p.open === '"' && p.close === '"'),
    'MSL auto-closes strings',
  );
  assert.deepEqual(words(msl.wordPattern, 'device float4* a [[buffer(0)]]'), ['device', 'float4', 'a', 'buffer', '0']);
  assert.match('#pragma region helpers', new RegExp(msl.folding.markers.start));
  assert.match('kernel void f(device float* a,', new RegExp(msl.indentationRules.increaseIndentPattern));
});
