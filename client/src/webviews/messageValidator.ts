// A small typed validator for messages from webviews. A webview's script runs with the page's
// privileges only, but what it posts is still input: each message is checked against its shape
// before use, and only the known fields are copied out (extra ones are dropped). No VS Code API
// here, so it is unit-tested in plain Node; the webview's own code never needs it.

/** Checks `value` (found at `path`, e.g. "message.regions[2].offset") and returns it typed, or throws MessageError. */
export type Check<T> = (value: unknown, path: string) => T;
export type Infer<C> = C extends Check<infer T> ? T : never;

export class MessageError extends Error {}

function fail(path: string, expected: string, value: unknown): never {
  let got: string;
  if (value === null) got = 'null';
  else if (Array.isArray(value)) got = 'an array';
  else if (typeof value === 'string') got = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  else if (typeof value === 'object') got = 'an object';
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') got = String(value);
  else got = typeof value;
  throw new MessageError(`${path} must be ${expected} (got ${got})`);
}

export function string(options: { maxLength?: number } = {}): Check<string> {
  const max = options.maxLength ?? 10_000;
  return (value, path) => {
    if (typeof value !== 'string') fail(path, 'a string', value);
    if (value.length > max) fail(path, `a string of at most ${max} characters`, `${value.length} characters`);
    return value;
  };
}

export function number(options: { integer?: boolean; min?: number; max?: number } = {}): Check<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a finite number', value);
    if (options.integer === true && !Number.isSafeInteger(value)) fail(path, 'an integer', value);
    if (options.min !== undefined && value < options.min) fail(path, `at least ${options.min}`, value);
    if (options.max !== undefined && value > options.max) fail(path, `at most ${options.max}`, value);
    return value;
  };
}

export const boolean: Check<boolean> = (value, path) => {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
};

export function literal<const T extends readonly (string | number | boolean)[]>(...values: T): Check<T[number]> {
  return (value, path) => {
    if (!values.includes(value as T[number]))
      fail(path, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, value);
    return value as T[number];
  };
}

export function array<T>(item: Check<T>, options: { max?: number } = {}): Check<T[]> {
  const max = options.max ?? 10_000;
  return (value, path) => {
    if (!Array.isArray(value)) fail(path, 'an array', value);
    if (value.length > max) fail(path, `an array of at most ${max} items`, `${value.length} items`);
    return value.map((element, i) => item(element, `${path}[${i}]`));
  };
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path));
}

type Shape = Record<string, Check<unknown>>;
type Required<R extends Shape> = { [K in keyof R]: Infer<R[K]> };
type Optional<O extends Shape> = { [K in keyof O]?: Infer<O[K]> };

/** An object with the `required` fields and any of the `optional` ones (absent or undefined: left out). */
export function object<R extends Shape, O extends Shape = Record<never, never>>(
  required: R,
  optional?: O,
): Check<Required<R> & Optional<O>> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
    const source = value as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(required)) result[key] = check(source[key], `${path}.${key}`);
    for (const [key, check] of Object.entries(optional ?? {})) {
      if (source[key] !== undefined) result[key] = check(source[key], `${path}.${key}`);
    }
    return result as Required<R> & Optional<O>;
  };
}

/** One of several object shapes told apart by their `type` field. */
export function tagged<V extends Record<string, Check<object>>>(
  variants: V,
): Check<{ [K in keyof V]: Infer<V[K]> & { type: K } }[keyof V]> {
  return (value, path) => {
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    const check = typeof type === 'string' && Object.hasOwn(variants, type) ? variants[type] : undefined;
    if (check === undefined)
      fail(
        `${path}.type`,
        `one of ${Object.keys(variants)
          .map((k) => JSON.stringify(k))
          .join(', ')}`,
        type,
      );
    return { ...check(value, path), type } as { [K in keyof V]: Infer<V[K]> & { type: K } }[keyof V];
  };
}

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string };

/** Runs a check without throwing. */
export function validate<T>(check: Check<T>, value: unknown, what = 'message'): Validated<T> {
  try {
    return { ok: true, value: check(value, what) };
  } catch (error) {
    if (error instanceof MessageError) return { ok: false, error: error.message };
    throw error;
  }
}
