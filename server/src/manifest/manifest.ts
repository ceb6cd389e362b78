// The workspace manifest, `ringkernel.json`: which kernels run, from which source and entry point,
// with how much state, launched how, how often. Parsing never throws and recovers as much as it
// can: a broken kernel is left out with a problem saying why, the others still run.
//
// Two kinds of problem: 'schema' ones are exactly what media/schemas/ringkernel.schema.json says
// (VS Code's JSON service reports those itself, so the LSP wiring can leave them out there), and
// 'semantic' ones only we can tell: files, entry points, backends, combinations. A rule belongs
// to the schema only when it is in the schema file; test/unit/manifest.test.ts keeps the two from
// drifting apart (properties, defaults, limits).
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
// The ESM build: the package's UMD `main` hides its internal requires from esbuild, and the
// bundle then fails at run time with "Cannot find module './impl/format'".
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { LineIndex } from '../validation/diagnostic';
import type { KernelLanguage } from '../validation/validatorSet';
import { ENTRY_POINT_KIND, lookUpEntryPoint } from './sourceEntryPoints';

export type { KernelLanguage };

export const MANIFEST_NAME = 'ringkernel.json';
export const MANIFEST_VERSION = 1;

export type KernelBackendChoice = 'auto' | 'webgpu' | 'cuda';
export type Dims = [number, number, number];

/** One kernel with defaults applied and paths resolved. */
export interface KernelSpec {
  id: string;
  /** Absolute path. */
  source: string;
  language: KernelLanguage;
  entryPoint: string;
  backend: KernelBackendChoice;
  device: 'auto' | number;
  stateBytes: number;
  grid: Dims;
  block: Dims;
  inboxCapacity: number;
  outboxCapacity: number;
  rateHz: number;
}

export interface ManifestProblem {
  severity: 'error' | 'warning';
  /** Says what is wrong, with what (kernel id / property), and what to do. */
  message: string;
  /** 0-based offset and length in the manifest text: the offending value or property; the document start when nothing better. */
  offset: number;
  length: number;
  /** 'schema': VS Code's JSON service reports it too (from the contributed schema, or JSON syntax); 'semantic': only we can tell. */
  kind: 'schema' | 'semantic';
  kernelId?: string;
}

/**
 * A kernel entry as written, errors or not, with whichever of these read as strings. Editor
 * features need the broken kernels too: the WGSL file of a kernel whose entry point is missing is
 * exactly where that error must show, and saving a missing source file must re-check the manifest.
 */
export interface DeclaredKernel {
  id?: string;
  /** Absolute path. */
  source?: string;
  entryPoint?: string;
  /** The device index, when the entry names one (validation checks the features that device has). */
  device?: number;
}

export interface Manifest {
  /** Absolute path of ringkernel.json. */
  path: string;
  /** Only the kernels without errors, in manifest order: a kernel with an error is left out, the others still run. */
  kernels: KernelSpec[];
  problems: ManifestProblem[];
  /** Every kernel entry, including those left out of `kernels`. */
  declared: DeclaredKernel[];
}

// ---- The rules. The schema file states the same; the unit test compares them. ----

export const TOP_LEVEL_PROPERTIES = ['$schema', 'version', 'kernels'] as const;
export const KERNEL_PROPERTIES = ['id', 'source', 'entryPoint', 'backend', 'device', 'stateBytes', 'grid', 'block', 'inboxCapacity', 'outboxCapacity', 'rateHz'] as const;
export const REQUIRED_KERNEL_PROPERTIES = ['id', 'source', 'entryPoint', 'stateBytes'] as const;
export const BACKENDS: readonly KernelBackendChoice[] = ['auto', 'webgpu', 'cuda'];

export const KERNEL_DEFAULTS = {
  backend: 'auto',
  device: 'auto',
  grid: [1, 1, 1],
  block: [64, 1, 1],
  inboxCapacity: 16,
  outboxCapacity: 16,
  rateHz: 60,
} as const satisfies Partial<Record<(typeof KERNEL_PROPERTIES)[number], unknown>>;

/** Sources are picked by extension; the language follows from it. */
export const SOURCE_EXTENSIONS: Readonly<Record<string, KernelLanguage>> = { '.wgsl': 'wgsl', '.ptx': 'ptx', '.metal': 'msl' };

const GIB = 1024 ** 3;

export const LIMITS = {
  /** Ids name kernels in commands, the status bar and file names: short and plain. */
  id: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
  /** WGSL, PTX and Metal identifiers (PTX also allows `$` and a leading `%`). */
  entryPoint: /^[A-Za-z_$%][A-Za-z0-9_$]*$/,
  /** The state is one GPU buffer of 32-bit words; 4 GiB is the largest a binding can address. */
  stateBytes: { min: 4, max: 4 * GIB },
  /** CUDA: gridDim.x up to 2^31-1, y and z up to 65535. */
  grid: { min: 1, max: [2_147_483_647, 65_535, 65_535] },
  /** CUDA: blockDim up to 1024 x 1024 x 64, and at most 1024 threads in all. */
  block: { min: 1, max: [1024, 1024, 64], maxThreads: 1024 },
  /** Messages per ring. */
  capacity: { min: 0, max: 65_536 },
  rateHz: { min: 0, max: 100_000 },
  /** WebGPU guarantees only this many workgroups per dimension (maxComputeWorkgroupsPerDimension). */
  webgpuWorkgroupsPerDimension: 65_535,
} as const;

const LANGUAGE_NAME: Record<KernelLanguage, string> = { wgsl: 'WGSL', ptx: 'PTX', msl: 'Metal' };
/** The backend `auto` means, per language; Metal has none on this platform. */
const AUTO_BACKEND: Record<KernelLanguage, 'webgpu' | 'cuda' | undefined> = { wgsl: 'webgpu', ptx: 'cuda', msl: undefined };
const DIMENSION = ['x', 'y', 'z'] as const;

/** The backend a kernel runs on: its own, or for `auto` the one its language needs; none for Metal. */
export function runsOn(spec: Pick<KernelSpec, 'backend' | 'language'>): 'webgpu' | 'cuda' | undefined {
  return spec.backend === 'auto' ? AUTO_BACKEND[spec.language] : spec.backend;
}

// ---- Reading ----

function readSourceFile(absolutePath: string): string | undefined {
  try {
    return readFileSync(absolutePath, 'utf8');
  } catch {
    return undefined;
  }
}

interface Span {
  offset: number;
  length: number;
}

const spanOf = (node: Node): Span => ({ offset: node.offset, length: node.length });

/** What a value is, for "(got ...)". */
function describe(node: Node): string {
  switch (node.type) {
    case 'string': {
      const value = String(node.value);
      return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
    }
    case 'number':
      return String(node.value);
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return 'nothing';
  }
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: typos are mostly these. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known name the unknown one is most probably a typo of. */
function suggestion(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  let close: string | undefined;
  let closest = 3;
  for (const candidate of known) {
    const distance = editDistance(candidate.toLowerCase(), lower);
    if (distance < closest) {
      close = candidate;
      closest = distance;
    }
  }
  return close === undefined ? `known properties: ${known.join(', ')}` : `did you mean "${close}"?`;
}

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'this is not JSON (strings need double quotes; true, false and null are lower case)',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," between the items',
  CloseBraceExpected: 'expected "}" to close the object',
  CloseBracketExpected: 'expected "]" to close the array',
  EndOfFileExpected: 'unexpected text after the end of the manifest\'s object',
  InvalidCommentToken: 'comments are not allowed: ringkernel.json is plain JSON; remove the comment',
  UnexpectedEndOfComment: 'this comment is never closed (and comments are not allowed in JSON)',
  UnexpectedEndOfString: 'this string is never closed: a closing " is missing',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid \\u escape: it needs four hexadecimal digits',
  InvalidEscapeCharacter: 'invalid escape sequence in a string',
  InvalidCharacter: 'invalid character in a string: control characters (such as a line break) must be escaped',
};

interface SyntaxProblem {
  problem: ManifestProblem;
  /** False for a comment or a trailing comma: the values around it read exactly as meant. */
  structural: boolean;
}

function previousNonSpace(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i] ?? '')) i--;
  return i;
}

/** jsonc-parser's errors as problems: one per place, trailing commas named as such. */
function syntaxProblems(text: string, errors: readonly ParseError[]): SyntaxProblem[] {
  const seen = new Set<number>();
  const found: SyntaxProblem[] = [];
  for (const error of errors) {
    const code = printParseErrorCode(error.error);
    const closer = text[error.offset];
    // A comma right before `}` or `]` is reported by the parser as a missing name or value there.
    if ((code === 'PropertyNameExpected' || code === 'ValueExpected') && (closer === '}' || closer === ']')) {
      const comma = previousNonSpace(text, error.offset);
      if (text[comma] === ',') {
        if (seen.has(comma)) continue;
        seen.add(comma);
        seen.add(error.offset);
        found.push({
          problem: { severity: 'error', kind: 'schema', offset: comma, length: 1, message: `JSON syntax error: trailing comma before "${closer}"; JSON allows no comma after the last item, remove it` },
          structural: false,
        });
        continue;
      }
    }
    // Several errors at one place (a truncated file closes every open bracket at its end): the first says it.
    if (seen.has(error.offset)) continue;
    seen.add(error.offset);
    const what = SYNTAX_MESSAGES[code] ?? code;
    const atEnd = error.offset >= text.length && code !== 'InvalidCommentToken';
    const message = atEnd ? `JSON syntax error: the file ends before the JSON is complete: ${what}` : `JSON syntax error: ${what}`;
    found.push({ problem: { severity: 'error', kind: 'schema', offset: error.offset, length: error.length, message }, structural: code !== 'InvalidCommentToken' });
  }
  return found;
}

/** A property of an object node: its key and (unless the text was cut off) its value. */
interface Property {
  key: Node;
  value: Node | undefined;
}

interface KernelReading {
  label: string;
  id?: string;
  hasError: boolean;
}

/** One parse of one manifest text; `read()` once. */
class ManifestReader {
  private readonly problems: ManifestProblem[] = [];
  private readonly kernels: KernelSpec[] = [];
  private readonly declared: DeclaredKernel[] = [];
  private readonly folder: string;
  private readonly sources = new Map<string, string | undefined>();
  private readonly idsSeen = new Map<string, number>();
  private lines: LineIndex | undefined;
  private structuralErrors: number[] = [];

  constructor(
    private readonly text: string,
    private readonly path: string,
    private readonly readSource: (absolutePath: string) => string | undefined,
  ) {
    this.folder = dirname(path);
  }

  read(): Manifest {
    const errors: ParseError[] = [];
    // A byte order mark becomes a space: offsets stay those of the editor's text.
    const text = this.text.startsWith('\uFEFF') ? ` ${this.text.slice(1)}` : this.text;
    const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
    for (const { problem, structural } of syntaxProblems(text, errors)) {
      this.problems.push(problem);
      if (structural) this.structuralErrors.push(problem.offset);
    }
    if (root === undefined) {
      if (text.trim() === '') this.problem('error', 'schema', 'ringkernel.json is empty; it needs an object such as { "version": 1, "kernels": [ ... ] }', { offset: 0, length: 0 });
    } else {
      this.readRoot(root);
    }
    // The parser may measure an unclosed comment past the end; a range stays inside the text.
    for (const problem of this.problems) {
      problem.offset = Math.max(0, Math.min(problem.offset, this.text.length));
      problem.length = Math.max(0, Math.min(problem.length, this.text.length - problem.offset));
    }
    this.problems.sort((a, b) => a.offset - b.offset);
    return { path: this.path, kernels: this.kernels, problems: this.problems, declared: this.declared };
  }

  private problem(severity: ManifestProblem['severity'], kind: ManifestProblem['kind'], message: string, at: Span, kernelId?: string): void {
    const problem: ManifestProblem = { severity, kind, message, offset: at.offset, length: at.length };
    if (kernelId !== undefined) problem.kernelId = kernelId;
    this.problems.push(problem);
  }

  private lineOf(offset: number): number {
    this.lines ??= new LineIndex(this.text);
    return this.lines.positionAt(offset).line + 1;
  }

  /** An object's properties by name (the last one wins, as in JSON.parse), warning on repeats and unknown names. */
  private propertiesOf(node: Node, known: readonly string[], owner: string, kernelId?: string): Map<string, Property> {
    const properties = new Map<string, Property>();
    for (const child of node.children ?? []) {
      const key = child.children?.[0];
      if (child.type !== 'property' || key === undefined) continue;
      const name = String(key.value);
      const earlier = properties.get(name);
      if (earlier) this.problem('warning', 'schema', `${owner}: "${name}" is given twice; the one on line ${this.lineOf(key.offset)} is used, remove the other`, spanOf(earlier.key), kernelId);
      if (!known.includes(name)) this.problem('warning', 'schema', `${owner}: unknown property "${name}" is ignored; ${suggestion(name, known)}`, spanOf(key), kernelId);
      properties.set(name, { key, value: child.children?.[1] });
    }
    return properties;
  }

  private readRoot(root: Node): void {
    if (root.type !== 'object') {
      this.problem('error', 'schema', `ringkernel.json must be an object with a "kernels" array (got ${describe(root)})`, spanOf(root));
      return;
    }
    const properties = this.propertiesOf(root, TOP_LEVEL_PROPERTIES, 'ringkernel.json');
    const schema = properties.get('$schema')?.value;
    if (schema && schema.type !== 'string') this.problem('error', 'schema', `"$schema" must be a string (the schema's path or URL) (got ${describe(schema)})`, spanOf(schema));
    const version = properties.get('version')?.value;
    if (version && version.value !== MANIFEST_VERSION) {
      this.problem('error', 'schema', `"version" must be ${MANIFEST_VERSION} (got ${describe(version)}): this RingKernel reads manifest version ${MANIFEST_VERSION}; set "version": ${MANIFEST_VERSION} or update the extension`, spanOf(version));
    }
    const kernels = properties.get('kernels');
    if (!kernels) {
      this.problem('error', 'schema', 'ringkernel.json has no "kernels" array; add "kernels": [ { "id": ..., "source": ..., "entryPoint": ..., "stateBytes": ... } ]', { offset: root.offset, length: 1 });
      return;
    }
    if (!kernels.value) return; // cut off after the key: the syntax error says so
    if (kernels.value.type !== 'array') {
      this.problem('error', 'schema', `"kernels" must be an array of kernel objects (got ${describe(kernels.value)})`, spanOf(kernels.value));
      return;
    }
    (kernels.value.children ?? []).forEach((node, index) => this.readKernel(node, index));
  }

  private readKernel(node: Node, index: number): void {
    if (node.type !== 'object') {
      this.problem('error', 'schema', `kernel #${index + 1} must be an object with "id", "source", "entryPoint" and "stateBytes" (got ${describe(node)})`, spanOf(node));
      return;
    }
    const properties = new Map<string, Property>();
    // The label comes first: every message names the kernel.
    const idNode = (node.children ?? []).filter((p) => p.children?.[0]?.value === 'id').at(-1)?.children?.[1];
    const rawId = idNode?.type === 'string' ? String(idNode.value) : undefined;
    const kernel: KernelReading = { label: rawId !== undefined && LIMITS.id.test(rawId) ? `kernel "${rawId}"` : `kernel #${index + 1}`, hasError: false };
    if (rawId !== undefined && LIMITS.id.test(rawId)) kernel.id = rawId;
    for (const [name, property] of this.propertiesOf(node, KERNEL_PROPERTIES, kernel.label, kernel.id)) properties.set(name, property);

    const end = node.offset + node.length;
    if (this.structuralErrors.some((at) => at >= node.offset && (at < end || (at === end && at >= this.text.length)))) {
      // The parser recovered, but what it read here may not be what was meant.
      kernel.hasError = true;
      for (const problem of this.problems) if (problem.kernelId === undefined && problem.offset >= node.offset && problem.offset <= end && kernel.id !== undefined) problem.kernelId = kernel.id;
    }

    const error = (kind: ManifestProblem['kind'], message: string, at: Span): void => {
      kernel.hasError = true;
      this.problem('error', kind, `${kernel.label}: ${message}`, at, kernel.id);
    };
    const warning = (kind: ManifestProblem['kind'], message: string, at: Span): void => this.problem('warning', kind, `${kernel.label}: ${message}`, at, kernel.id);

    for (const name of REQUIRED_KERNEL_PROPERTIES) {
      if (!properties.has(name)) error('schema', `missing required property "${name}" (${REQUIRED_HINT[name]})`, { offset: node.offset, length: 1 });
    }
    const value = (name: (typeof KERNEL_PROPERTIES)[number]): Node | undefined => properties.get(name)?.value;

    // id
    const idValue = value('id');
    if (idValue) {
      if (idValue.type !== 'string') error('schema', `"id" must be a string (got ${describe(idValue)})`, spanOf(idValue));
      else if (!LIMITS.id.test(String(idValue.value))) error('schema', `"id" must start with a letter and have at most 64 letters, digits, "_", "." or "-" (got ${describe(idValue)})`, spanOf(idValue));
      else {
        const first = this.idsSeen.get(kernel.id ?? '');
        if (first !== undefined) error('semantic', `id "${kernel.id}" is already used by the kernel on line ${first}; ids must be unique`, spanOf(idValue));
        else this.idsSeen.set(kernel.id ?? '', this.lineOf(idValue.offset));
      }
    }

    // source, and the language it implies
    const sourceValue = value('source');
    let source: string | undefined;
    let language: KernelLanguage | undefined;
    if (sourceValue) {
      if (sourceValue.type !== 'string') error('schema', `"source" must be a path relative to ringkernel.json (got ${describe(sourceValue)})`, spanOf(sourceValue));
      else if (String(sourceValue.value) === '') error('schema', '"source" must not be empty: give the kernel file\'s path relative to ringkernel.json', spanOf(sourceValue));
      else {
        source = resolve(this.folder, String(sourceValue.value));
        language = SOURCE_EXTENSIONS[extname(source).toLowerCase()];
        if (language === undefined) error('semantic', `"source" must be a .wgsl, .ptx or .metal file (got ${describe(sourceValue)}); the extension says which language it is`, spanOf(sourceValue));
      }
    }

    // entryPoint
    const entryValue = value('entryPoint');
    let entryPoint: string | undefined;
    if (entryValue) {
      if (entryValue.type !== 'string') error('schema', `"entryPoint" must be the name of the kernel function (got ${describe(entryValue)})`, spanOf(entryValue));
      else if (!LIMITS.entryPoint.test(String(entryValue.value))) error('schema', `"entryPoint" must be a function name: letters, digits and "_" (got ${describe(entryValue)})`, spanOf(entryValue));
      else entryPoint = String(entryValue.value);
    }
    const declared: DeclaredKernel = {};
    if (rawId !== undefined) declared.id = rawId;
    if (source !== undefined) declared.source = source;
    if (entryValue?.type === 'string' && String(entryValue.value) !== '') declared.entryPoint = String(entryValue.value);
    this.declared.push(declared);

    // backend
    const backendValue = value('backend');
    let backend: KernelBackendChoice = KERNEL_DEFAULTS.backend;
    if (backendValue) {
      if (backendValue.type !== 'string' || !BACKENDS.includes(backendValue.value as KernelBackendChoice)) {
        error('schema', `"backend" must be "auto", "webgpu" or "cuda" (got ${describe(backendValue)})`, spanOf(backendValue));
      } else {
        backend = backendValue.value as KernelBackendChoice;
      }
    }

    // device
    const deviceValue = value('device');
    let device: 'auto' | number = KERNEL_DEFAULTS.device;
    if (deviceValue) {
      if (deviceValue.value === 'auto') device = 'auto';
      else if (deviceValue.type === 'number' && Number.isInteger(deviceValue.value) && (deviceValue.value as number) >= 0) device = deviceValue.value as number;
      else error('schema', `"device" must be "auto" or a device index 0, 1, ... among the backend's devices (got ${describe(deviceValue)})`, spanOf(deviceValue));
    }
    if (typeof device === 'number') declared.device = device;

    // stateBytes
    const stateValue = value('stateBytes');
    let stateBytes: number | undefined;
    if (stateValue) {
      const n = this.integer(stateValue, '"stateBytes"', error);
      if (n !== undefined) {
        if (n < LIMITS.stateBytes.min) error('schema', `"stateBytes" must be at least ${LIMITS.stateBytes.min}, one 32-bit word (got ${n})`, spanOf(stateValue));
        else if (n > LIMITS.stateBytes.max) error('schema', `"stateBytes" must be at most ${LIMITS.stateBytes.max} (4 GiB), the largest buffer a kernel can bind (got ${n})`, spanOf(stateValue));
        else if (n % 4 !== 0) error('semantic', `stateBytes must be a multiple of 4 (got ${n}); the state is read and written as 32-bit words`, spanOf(stateValue));
        else stateBytes = n;
      }
    }

    const grid = this.dims(value('grid'), 'grid', LIMITS.grid.max, KERNEL_DEFAULTS.grid, error);
    const blockProperty = properties.get('block');
    const block = this.dims(blockProperty?.value, 'block', LIMITS.block.max, KERNEL_DEFAULTS.block, error);
    const inboxCapacity = this.ranged(value('inboxCapacity'), 'inboxCapacity', LIMITS.capacity, KERNEL_DEFAULTS.inboxCapacity, true, error);
    const outboxCapacity = this.ranged(value('outboxCapacity'), 'outboxCapacity', LIMITS.capacity, KERNEL_DEFAULTS.outboxCapacity, true, error);
    const rateHz = this.ranged(value('rateHz'), 'rateHz', LIMITS.rateHz, KERNEL_DEFAULTS.rateHz, false, error);

    // ---- Combinations and files: only we can tell. ----
    const threads = block ? block[0] * block[1] * block[2] : undefined;
    if (blockProperty?.value && threads !== undefined && threads > LIMITS.block.maxThreads) {
      error('semantic', `block has ${threads} threads (${block?.join(' x ')}); CUDA allows at most ${LIMITS.block.maxThreads} threads per block`, spanOf(blockProperty.value));
    }
    if (language === 'wgsl' && blockProperty) {
      warning('semantic', '"block" is ignored for a WGSL kernel: its @workgroup_size sets the threads per workgroup; remove "block"', spanOf(blockProperty.key));
    }
    const runsOn = language === undefined ? undefined : backend === 'auto' ? AUTO_BACKEND[language] : backend;
    if (language !== undefined && language !== 'msl' && backendValue && backend !== 'auto' && backend !== AUTO_BACKEND[language]) {
      error('semantic', `backend "${backend}" cannot run ${LANGUAGE_NAME[language]}; ${LANGUAGE_NAME[language]} runs on "${AUTO_BACKEND[language] ?? ''}": set that or "auto"`, spanOf(backendValue));
    }
    const gridValue = value('grid');
    if (runsOn === 'webgpu' && grid && gridValue && grid.some((n) => n > LIMITS.webgpuWorkgroupsPerDimension)) {
      warning('semantic', `grid ${grid.join(' x ')} is over the ${LIMITS.webgpuWorkgroupsPerDimension} workgroups per dimension WebGPU guarantees; a device that allows no more refuses the launch`, spanOf(gridValue));
    }
    if (language === 'msl' && sourceValue) {
      warning('semantic', 'Metal kernels are validated but cannot run here: no Metal device; this kernel is left out', spanOf(sourceValue));
    }
    if (source !== undefined && language !== undefined && sourceValue) {
      const text = this.sourceText(source);
      if (text === undefined) {
        error('semantic', `source file not found: ${source} ("${String(sourceValue.value)}" is relative to the folder of ringkernel.json); create it or fix the path`, spanOf(sourceValue));
      } else if (entryPoint !== undefined && entryValue) {
        const lookup = lookUpEntryPoint(language, text, entryPoint);
        if (!lookup.found) {
          const kind = ENTRY_POINT_KIND[language];
          const instead = lookup.otherKind ? `"${entryPoint}" is ${lookup.otherKind}` : `there is no ${kind} named "${entryPoint}"`;
          const have = lookup.entryPoints.length > 0 ? `its ${kind}s: ${lookup.entryPoints.slice(0, 10).join(', ')}` : `it has no ${kind}`;
          error('semantic', `entry point "${entryPoint}" not found in ${String(sourceValue.value)}: ${instead} (${have})`, spanOf(entryValue));
        }
      }
    }

    if (kernel.hasError || kernel.id === undefined || source === undefined || language === undefined || language === 'msl') return;
    if (entryPoint === undefined || stateBytes === undefined || !grid || !block || inboxCapacity === undefined || outboxCapacity === undefined || rateHz === undefined) return;
    this.kernels.push({ id: kernel.id, source, language, entryPoint, backend, device, stateBytes, grid, block, inboxCapacity, outboxCapacity, rateHz });
  }

  private sourceText(path: string): string | undefined {
    if (!this.sources.has(path)) {
      let text: string | undefined;
      try {
        text = this.readSource(path);
      } catch {
        text = undefined;
      }
      this.sources.set(path, typeof text === 'string' ? text : undefined);
    }
    return this.sources.get(path);
  }

  private integer(node: Node, what: string, error: (kind: ManifestProblem['kind'], message: string, at: Span) => void): number | undefined {
    if (node.type !== 'number' || !Number.isInteger(node.value)) {
      error('schema', `${what} must be an integer (got ${describe(node)})`, spanOf(node));
      return undefined;
    }
    return node.value as number;
  }

  private ranged(node: Node | undefined, name: string, limits: { min: number; max: number }, fallback: number, integer: boolean, error: (kind: ManifestProblem['kind'], message: string, at: Span) => void): number | undefined {
    if (!node) return fallback;
    let n: number | undefined;
    if (integer) n = this.integer(node, `"${name}"`, error);
    else if (node.type === 'number') n = node.value as number;
    else error('schema', `"${name}" must be a number (got ${describe(node)})`, spanOf(node));
    if (n === undefined) return undefined;
    if (n < limits.min || n > limits.max) {
      error('schema', `"${name}" must be between ${limits.min} and ${limits.max} (got ${n})`, spanOf(node));
      return undefined;
    }
    return n;
  }

  /** `grid` and `block`: an integer (x) or 1-3 integers, padded with 1. */
  private dims(node: Node | undefined, name: string, max: readonly number[], fallback: readonly number[], error: (kind: ManifestProblem['kind'], message: string, at: Span) => void): Dims | undefined {
    if (!node) return [fallback[0] ?? 1, fallback[1] ?? 1, fallback[2] ?? 1];
    const items = node.type === 'array' ? (node.children ?? []) : [node];
    if (node.type !== 'array' && node.type !== 'number') {
      error('schema', `"${name}" must be an integer or an array of 1 to 3 integers [x, y, z] (got ${describe(node)})`, spanOf(node));
      return undefined;
    }
    if (items.length < 1 || items.length > 3) {
      error('schema', `"${name}" must have 1 to 3 dimensions [x, y, z] (got ${items.length})`, spanOf(node));
      return undefined;
    }
    const dims: Dims = [1, 1, 1];
    let ok = true;
    items.forEach((item, i) => {
      const what = node.type === 'array' ? `"${name}" ${DIMENSION[i] ?? ''}` : `"${name}"`;
      const n = this.integer(item, what, error);
      const limit = max[i] ?? 1;
      if (n === undefined) ok = false;
      else if (n < 1 || n > limit) {
        error('schema', `${what} must be between 1 and ${limit} (got ${n})`, spanOf(item));
        ok = false;
      } else dims[i] = n;
    });
    return ok ? dims : undefined;
  }
}

const REQUIRED_HINT: Record<(typeof REQUIRED_KERNEL_PROPERTIES)[number], string> = {
  id: 'a unique name such as "heat"',
  source: 'the .wgsl, .ptx or .metal file, relative to ringkernel.json',
  entryPoint: 'the kernel function to run',
  stateBytes: 'the size of the kernel\'s state buffer in bytes, a multiple of 4',
};

/** Parses and checks manifest text; never throws on any content. `readSource` reads a kernel file (undefined: missing). */
export function parseManifest(text: string, manifestPath: string, readSource: (absolutePath: string) => string | undefined = readSourceFile): Manifest {
  const path = resolve(manifestPath);
  try {
    return new ManifestReader(typeof text === 'string' ? text : '', path, readSource).read();
  } catch (error) {
    // A bug of ours must not take the editor features down with it: say so on the manifest.
    const message = error instanceof Error ? error.message : String(error);
    return { path, kernels: [], declared: [], problems: [{ severity: 'error', kind: 'semantic', offset: 0, length: 0, message: `ringkernel.json could not be checked (internal error: ${message}); please report this` }] };
  }
}

/** Reads and parses the manifest; a missing or unreadable file gives one problem saying so. */
export function loadManifest(manifestPath: string): Manifest {
  const path = resolve(manifestPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = code === 'ENOENT'
      ? `${MANIFEST_NAME} not found at ${path}; create it to declare kernels (see docs/manifest.md)`
      : `${MANIFEST_NAME} could not be read at ${path}: ${error instanceof Error ? error.message : String(error)}`;
    return { path, kernels: [], declared: [], problems: [{ severity: 'error', kind: 'semantic', offset: 0, length: 0, message }] };
  }
  return parseManifest(text, path);
}

/** A problem's offset and length as 0-based line/character (UTF-16) positions in `text`. */
export function problemRange(text: string, problem: ManifestProblem): { start: { line: number; character: number }; end: { line: number; character: number } } {
  return new LineIndex(text).rangeOf(problem.offset, problem.length);
}
