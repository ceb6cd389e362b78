// Reads a manifest's syntax tree into kernels: each value checked against the rules the schema
// states (manifestRules.ts), then the checks only we can make (kernelChecks.ts). Never throws on
// content and recovers as much as it can: a broken kernel is left out with a problem saying why,
// the others still run.
import type { Node } from 'jsonc-parser/lib/esm/main.js';
import { dirname, extname } from 'node:path';
import { checkKernel } from './kernelChecks';
import { parseManifestJson } from './manifestParse';
import { LineNumbers, clampToText, spanOf, type Span } from './manifestPositions';
import {
  AUTO_BACKEND,
  BACKEND_SOURCE_EXTENSIONS,
  BACKENDS,
  KERNEL_DEFAULTS,
  KERNEL_PROPERTIES,
  LIMITS,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  REQUIRED_HINT,
  REQUIRED_KERNEL_PROPERTIES,
  SOURCE_EXTENSIONS,
  TOP_LEVEL_PROPERTIES,
} from './manifestRules';
import type {
  DeclaredKernel,
  Dims,
  KernelBackendChoice,
  KernelLanguage,
  KernelSpec,
  Manifest,
  ManifestProblem,
} from './manifestTypes';
import { describe, suggestion } from './problemWording';
import { SourceLocator, type SourceLocation } from './sourceLocation';
import { checkViews } from './views';

const DIMENSION = ['x', 'y', 'z'] as const;

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

type ReportError = (kind: ManifestProblem['kind'], message: string, at: Span) => void;

/** One parse of one manifest text; `read()` once. */
export class ManifestReader {
  private readonly problems: ManifestProblem[] = [];
  private readonly kernels: KernelSpec[] = [];
  private readonly declared: DeclaredKernel[] = [];
  private readonly sources = new Map<string, string | undefined>();
  private readonly locator: SourceLocator;
  private readonly idsSeen = new Map<string, number>();
  private readonly lines: LineNumbers;
  private structuralErrors: number[] = [];

  constructor(
    private readonly text: string,
    private readonly path: string,
    private readonly readSource: (absolutePath: string) => string | undefined,
  ) {
    this.locator = new SourceLocator(dirname(path));
    this.lines = new LineNumbers(text);
  }

  read(): Manifest {
    const { root, problems, structuralErrors } = parseManifestJson(this.text);
    this.problems.push(...problems);
    this.structuralErrors = structuralErrors;
    if (root === undefined) {
      if (this.text.trim() === '')
        this.problem(
          'error',
          'schema',
          `${MANIFEST_NAME} is empty; it needs an object such as { "version": 1, "kernels": [ ... ] }`,
          { offset: 0, length: 0 },
        );
    } else {
      this.readRoot(root);
    }
    clampToText(this.problems, this.text.length);
    this.problems.sort((a, b) => a.offset - b.offset);
    return { path: this.path, kernels: this.kernels, problems: this.problems, declared: this.declared };
  }

  private problem(
    severity: ManifestProblem['severity'],
    kind: ManifestProblem['kind'],
    message: string,
    at: Span,
    kernelId?: string,
  ): void {
    const problem: ManifestProblem = { severity, kind, message, offset: at.offset, length: at.length };
    if (kernelId !== undefined) problem.kernelId = kernelId;
    this.problems.push(problem);
  }

  /** An object's properties by name (the last one wins, as in JSON.parse), warning on repeats and unknown names. */
  private propertiesOf(node: Node, known: readonly string[], owner: string, kernelId?: string): Map<string, Property> {
    const properties = new Map<string, Property>();
    for (const child of node.children ?? []) {
      const key = child.children?.[0];
      if (child.type !== 'property' || key === undefined) continue;
      const name = String(key.value);
      const earlier = properties.get(name);
      if (earlier)
        this.problem(
          'warning',
          'schema',
          `${owner}: "${name}" is given twice; the one on line ${this.lines.lineOf(key.offset)} is used, remove the other`,
          spanOf(earlier.key),
          kernelId,
        );
      if (!known.includes(name))
        this.problem(
          'warning',
          'schema',
          `${owner}: unknown property "${name}" is ignored; ${suggestion(name, known)}`,
          spanOf(key),
          kernelId,
        );
      properties.set(name, { key, value: child.children?.[1] });
    }
    return properties;
  }

  private readRoot(root: Node): void {
    if (root.type !== 'object') {
      this.problem(
        'error',
        'schema',
        `${MANIFEST_NAME} must be an object with a "kernels" array (got ${describe(root)})`,
        spanOf(root),
      );
      return;
    }
    const properties = this.propertiesOf(root, TOP_LEVEL_PROPERTIES, MANIFEST_NAME);
    const schema = properties.get('$schema')?.value;
    if (schema && schema.type !== 'string')
      this.problem(
        'error',
        'schema',
        `"$schema" must be a string (the schema's path or URL) (got ${describe(schema)})`,
        spanOf(schema),
      );
    const version = properties.get('version')?.value;
    if (version && version.value !== MANIFEST_VERSION) {
      // Another version's kernels may mean something else: none of them runs.
      this.problem(
        'error',
        'schema',
        `"version" must be ${MANIFEST_VERSION} (got ${describe(version)}): this RingKernel reads manifest version ${MANIFEST_VERSION} only, so no kernel of this manifest runs; set "version": ${MANIFEST_VERSION} or update the extension`,
        spanOf(version),
      );
      return;
    }
    const kernels = properties.get('kernels');
    if (!kernels) {
      this.problem(
        'error',
        'schema',
        `${MANIFEST_NAME} has no "kernels" array; add "kernels": [ { "id": ..., "source": ..., "entryPoint": ..., "stateBytes": ... } ]`,
        { offset: root.offset, length: 1 },
      );
      return;
    }
    if (!kernels.value) return; // cut off after the key: the syntax error says so
    if (kernels.value.type !== 'array') {
      this.problem(
        'error',
        'schema',
        `"kernels" must be an array of kernel objects (got ${describe(kernels.value)})`,
        spanOf(kernels.value),
      );
      return;
    }
    const entries = kernels.value.children ?? [];
    entries.slice(0, LIMITS.kernels).forEach((node, index) => this.readKernel(node, index));
    const first = entries[LIMITS.kernels];
    if (first) {
      const after = entries.length - LIMITS.kernels - 1;
      const which =
        after === 0
          ? `this kernel (#${LIMITS.kernels + 1}) is`
          : `this kernel (#${LIMITS.kernels + 1}) and the ${after} after it are`;
      this.problem(
        'error',
        'semantic',
        `${MANIFEST_NAME} declares ${entries.length} kernels, more than the ${LIMITS.kernels} one manifest may have: ${which} left out, ` +
          'neither checked nor run; remove kernels, or give each kernel more work (a larger "grid")',
        spanOf(first),
      );
    }
  }

  private readKernel(node: Node, index: number): void {
    if (node.type !== 'object') {
      this.problem(
        'error',
        'schema',
        `kernel #${index + 1} must be an object with "id", "source", "entryPoint" and "stateBytes" (got ${describe(node)})`,
        spanOf(node),
      );
      return;
    }
    const properties = new Map<string, Property>();
    // The label comes first: every message names the kernel.
    const idNode = (node.children ?? []).filter((p) => p.children?.[0]?.value === 'id').at(-1)?.children?.[1];
    const rawId = idNode?.type === 'string' ? String(idNode.value) : undefined;
    const kernel: KernelReading = {
      label: rawId !== undefined && LIMITS.id.test(rawId) ? `kernel "${rawId}"` : `kernel #${index + 1}`,
      hasError: false,
    };
    if (rawId !== undefined && LIMITS.id.test(rawId)) kernel.id = rawId;
    for (const [name, property] of this.propertiesOf(node, KERNEL_PROPERTIES, kernel.label, kernel.id))
      properties.set(name, property);

    const end = node.offset + node.length;
    if (this.structuralErrors.some((at) => at >= node.offset && (at < end || (at === end && at >= this.text.length)))) {
      // The parser recovered, but what it read here may not be what was meant.
      kernel.hasError = true;
      for (const problem of this.problems)
        if (
          problem.kernelId === undefined &&
          problem.offset >= node.offset &&
          problem.offset <= end &&
          kernel.id !== undefined
        )
          problem.kernelId = kernel.id;
    }

    const error: ReportError = (kind, message, at) => {
      kernel.hasError = true;
      this.problem('error', kind, `${kernel.label}: ${message}`, at, kernel.id);
    };

    for (const name of REQUIRED_KERNEL_PROPERTIES) {
      if (!properties.has(name))
        error('schema', `missing required property "${name}" (${REQUIRED_HINT[name]})`, {
          offset: node.offset,
          length: 1,
        });
    }
    const value = (name: (typeof KERNEL_PROPERTIES)[number]): Node | undefined => properties.get(name)?.value;

    // id
    const idValue = value('id');
    if (idValue) {
      if (idValue.type !== 'string')
        error('schema', `"id" must be a string (got ${describe(idValue)})`, spanOf(idValue));
      else if (!LIMITS.id.test(String(idValue.value)))
        error(
          'schema',
          `"id" must start with a letter and have at most 64 letters, digits, "_", "." or "-" (got ${describe(idValue)})`,
          spanOf(idValue),
        );
      else {
        const first = this.idsSeen.get(kernel.id ?? '');
        if (first !== undefined)
          error(
            'semantic',
            `id "${kernel.id}" is already used by the kernel on line ${first}; ids must be unique`,
            spanOf(idValue),
          );
        else this.idsSeen.set(kernel.id ?? '', this.lines.lineOf(idValue.offset));
      }
    }

    // source, and the language it implies
    const sourceValue = value('source');
    let source: { node: Node; written: string; location: SourceLocation } | undefined;
    let language: KernelLanguage | undefined;
    if (sourceValue) {
      if (sourceValue.type !== 'string')
        error(
          'schema',
          `"source" must be a path relative to ${MANIFEST_NAME} (got ${describe(sourceValue)})`,
          spanOf(sourceValue),
        );
      else if (String(sourceValue.value) === '')
        error(
          'schema',
          `"source" must not be empty: give the kernel file's path relative to ${MANIFEST_NAME}`,
          spanOf(sourceValue),
        );
      else {
        const written = String(sourceValue.value);
        source = { node: sourceValue, written, location: this.locator.locate(written) };
        language = SOURCE_EXTENSIONS[extname(written).toLowerCase()];
        if (language === undefined)
          error(
            'semantic',
            `"source" must be a .wgsl, .ptx or .metal file (got ${describe(sourceValue)}); the extension says which language it is`,
            spanOf(sourceValue),
          );
      }
    }

    // sources: the same kernel for other backends (same ABI and state layout), so it can migrate there
    const sources = this.readSources(value('sources'), source, language, error, kernel);

    // entryPoint
    const entryValue = value('entryPoint');
    let entryPoint: string | undefined;
    if (entryValue) {
      if (entryValue.type !== 'string')
        error(
          'schema',
          `"entryPoint" must be the name of the kernel function (got ${describe(entryValue)})`,
          spanOf(entryValue),
        );
      else if (!LIMITS.entryPoint.test(String(entryValue.value)))
        error(
          'schema',
          `"entryPoint" must be a function name: letters, digits and "_" (got ${describe(entryValue)})`,
          spanOf(entryValue),
        );
      else entryPoint = String(entryValue.value);
    }
    const declared: DeclaredKernel = {};
    if (rawId !== undefined) declared.id = rawId;
    if (source !== undefined) declared.source = source.location.path;
    if (entryValue?.type === 'string' && String(entryValue.value) !== '')
      declared.entryPoint = String(entryValue.value);
    this.declared.push(declared);

    // backend
    const backendValue = value('backend');
    let backend: KernelBackendChoice = KERNEL_DEFAULTS.backend;
    if (backendValue) {
      if (backendValue.type !== 'string' || !BACKENDS.includes(backendValue.value as KernelBackendChoice)) {
        error(
          'schema',
          `"backend" must be "auto", "webgpu" or "cuda" (got ${describe(backendValue)})`,
          spanOf(backendValue),
        );
      } else {
        backend = backendValue.value as KernelBackendChoice;
      }
    }

    // device
    const deviceValue = value('device');
    let device: 'auto' | number = KERNEL_DEFAULTS.device;
    if (deviceValue) {
      if (deviceValue.value === 'auto') device = 'auto';
      else if (
        deviceValue.type === 'number' &&
        Number.isInteger(deviceValue.value) &&
        (deviceValue.value as number) >= 0
      )
        device = deviceValue.value as number;
      else
        error(
          'schema',
          `"device" must be "auto" or a device index 0, 1, ... among the backend's devices (got ${describe(deviceValue)})`,
          spanOf(deviceValue),
        );
    }
    if (typeof device === 'number') declared.device = device;

    // stateBytes
    const stateValue = value('stateBytes');
    let stateBytes: number | undefined;
    if (stateValue) {
      const n = integer(stateValue, '"stateBytes"', error);
      if (n !== undefined) {
        if (n < LIMITS.stateBytes.min)
          error(
            'schema',
            `"stateBytes" must be at least ${LIMITS.stateBytes.min}, one 32-bit word (got ${n})`,
            spanOf(stateValue),
          );
        else if (n > LIMITS.stateBytes.max)
          error(
            'schema',
            `"stateBytes" must be at most ${LIMITS.stateBytes.max} (4 GiB), the largest buffer a kernel can bind (got ${n})`,
            spanOf(stateValue),
          );
        else if (n % 4 !== 0)
          error(
            'semantic',
            `stateBytes must be a multiple of 4 (got ${n}); the state is read and written as 32-bit words`,
            spanOf(stateValue),
          );
        else stateBytes = n;
      }
    }

    const gridNode = value('grid');
    const grid = dims(gridNode, 'grid', LIMITS.grid.max, KERNEL_DEFAULTS.grid, error);
    const blockProperty = properties.get('block');
    const block = dims(blockProperty?.value, 'block', LIMITS.block.max, KERNEL_DEFAULTS.block, error);
    const inboxCapacity = ranged(
      value('inboxCapacity'),
      'inboxCapacity',
      LIMITS.capacity,
      KERNEL_DEFAULTS.inboxCapacity,
      true,
      error,
    );
    const outboxCapacity = ranged(
      value('outboxCapacity'),
      'outboxCapacity',
      LIMITS.capacity,
      KERNEL_DEFAULTS.outboxCapacity,
      true,
      error,
    );
    const rateHz = ranged(value('rateHz'), 'rateHz', LIMITS.rateHz, KERNEL_DEFAULTS.rateHz, false, error);

    checkKernel(
      {
        language,
        source,
        backend,
        backendNode: backendValue,
        grid,
        gridNode,
        block,
        blockKey: blockProperty?.key,
        blockNode: blockProperty?.value,
        entryPoint: entryPoint !== undefined && entryValue ? { node: entryValue, name: entryPoint } : undefined,
      },
      {
        sourceText: (path) => this.sourceText(path),
        error: (message, at) => error('semantic', message, at),
        warning: (message, at) => this.problem('warning', 'semantic', `${kernel.label}: ${message}`, at, kernel.id),
      },
    );

    // A view is display only: its problems are reported, and a broken view is left out, but the
    // kernel runs whatever its views say.
    const viewsCheck = checkViews(value('views'), {
      label: kernel.label,
      ...(kernel.id !== undefined ? { kernelId: kernel.id } : {}),
      ...(stateBytes !== undefined ? { stateBytes } : {}),
    });
    for (const problem of viewsCheck.problems) this.problems.push(problem);

    if (
      kernel.hasError ||
      kernel.id === undefined ||
      source === undefined ||
      source.location.outside !== undefined ||
      language === undefined ||
      language === 'msl'
    )
      return;
    if (
      entryPoint === undefined ||
      stateBytes === undefined ||
      !grid ||
      !block ||
      inboxCapacity === undefined ||
      outboxCapacity === undefined ||
      rateHz === undefined
    )
      return;
    const spec: KernelSpec = {
      id: kernel.id,
      source: source.location.path,
      language,
      entryPoint,
      backend,
      device,
      stateBytes,
      grid,
      block,
      inboxCapacity,
      outboxCapacity,
      rateHz,
      ...(sources ? { sources } : {}),
    };
    if (viewsCheck.views.length > 0) spec.views = viewsCheck.views;
    this.kernels.push(spec);
  }

  /**
   * `"sources": { "webgpu": "heat.wgsl", "cuda": "heat.ptx" }`: each a file of that backend's
   * language inside the manifest's folder. The kernel's own backend runs from "source", so an entry
   * for it must name the same file. A file that is missing is a warning: the kernel runs, but
   * cannot move to that backend until the file exists.
   */
  private readSources(
    node: Node | undefined,
    source: { written: string; location: SourceLocation } | undefined,
    language: KernelLanguage | undefined,
    error: ReportError,
    kernel: KernelReading,
  ): KernelSpec['sources'] | undefined {
    if (!node) return undefined;
    if (node.type !== 'object') {
      error(
        'schema',
        `"sources" must be an object of one file per backend, e.g. { "webgpu": "heat.wgsl", "cuda": "heat.ptx" } (got ${describe(node)})`,
        spanOf(node),
      );
      return undefined;
    }
    const sources: NonNullable<KernelSpec['sources']> = {};
    for (const [name, property] of this.propertiesOf(
      node,
      Object.keys(BACKEND_SOURCE_EXTENSIONS),
      `${kernel.label}'s "sources"`,
      kernel.id,
    )) {
      // Unknown backends were warned about by propertiesOf; a property without a value by the parser.
      if (!Object.hasOwn(BACKEND_SOURCE_EXTENSIONS, name) || property.value === undefined) continue;
      const backend = name as keyof typeof BACKEND_SOURCE_EXTENSIONS;
      const extension = BACKEND_SOURCE_EXTENSIONS[backend];
      const entry = property.value;
      if (entry.type !== 'string' || String(entry.value) === '') {
        error(
          'schema',
          `"sources"."${backend}" must be the path of a ${extension} file relative to ${MANIFEST_NAME} (got ${describe(entry)})`,
          spanOf(entry),
        );
        continue;
      }
      const written = String(entry.value);
      if (extname(written).toLowerCase() !== extension) {
        error(
          'semantic',
          `"sources"."${backend}" must be a ${extension} file, the language ${backend === 'cuda' ? 'CUDA' : 'WebGPU'} runs (got ${describe(entry)})`,
          spanOf(entry),
        );
        continue;
      }
      const location = this.locator.locate(written);
      if (location.outside !== undefined) {
        error('semantic', `"sources"."${backend}": ${location.outside}`, spanOf(entry));
        continue;
      }
      if (
        language !== undefined &&
        AUTO_BACKEND[language] === backend &&
        source !== undefined &&
        source.location.path !== location.path
      ) {
        error(
          'semantic',
          `"sources"."${backend}" names ${written}, but "source" (${source.written}) is the kernel's ${backend === 'cuda' ? 'CUDA' : 'WebGPU'} file; name the same file or leave "${backend}" out of "sources"`,
          spanOf(entry),
        );
        continue;
      }
      if (this.sourceText(location.path) === undefined) {
        this.problem(
          'warning',
          'semantic',
          `${kernel.label}: "sources"."${backend}" names ${written}, which cannot be read; the kernel runs, but cannot move to a ${backend === 'cuda' ? 'CUDA' : 'WebGPU'} device until it exists`,
          spanOf(entry),
          kernel.id,
        );
        continue;
      }
      sources[backend] = location.path;
    }
    return Object.keys(sources).length > 0 ? sources : undefined;
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
}

function integer(node: Node, what: string, error: ReportError): number | undefined {
  if (node.type !== 'number' || !Number.isInteger(node.value)) {
    error('schema', `${what} must be an integer (got ${describe(node)})`, spanOf(node));
    return undefined;
  }
  return node.value as number;
}

function ranged(
  node: Node | undefined,
  name: string,
  limits: { min: number; max: number },
  fallback: number,
  isInteger: boolean,
  error: ReportError,
): number | undefined {
  if (!node) return fallback;
  let n: number | undefined;
  if (isInteger) n = integer(node, `"${name}"`, error);
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
function dims(
  node: Node | undefined,
  name: string,
  max: readonly number[],
  fallback: readonly number[],
  error: ReportError,
): Dims | undefined {
  if (!node) return [fallback[0] ?? 1, fallback[1] ?? 1, fallback[2] ?? 1];
  const items = node.type === 'array' ? (node.children ?? []) : [node];
  if (node.type !== 'array' && node.type !== 'number') {
    error(
      'schema',
      `"${name}" must be an integer or an array of 1 to 3 integers [x, y, z] (got ${describe(node)})`,
      spanOf(node),
    );
    return undefined;
  }
  if (items.length < 1 || items.length > 3) {
    error('schema', `"${name}" must have 1 to 3 dimensions [x, y, z] (got ${items.length})`, spanOf(node));
    return undefined;
  }
  const result: Dims = [1, 1, 1];
  let ok = true;
  items.forEach((item, i) => {
    const what = node.type === 'array' ? `"${name}" ${DIMENSION[i] ?? ''}` : `"${name}"`;
    const n = integer(item, what, error);
    const limit = max[i] ?? 1;
    if (n === undefined) ok = false;
    else if (n < 1 || n > limit) {
      error('schema', `${what} must be between 1 and ${limit} (got ${n})`, spanOf(item));
      ok = false;
    } else result[i] = n;
  });
  return ok ? result : undefined;
}
