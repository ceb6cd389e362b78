// Reading untrusted JSON (probe files, the measurement cache) into typed records, with errors that
// name the exact place that is wrong ("devices[2].index: expected a non-negative integer").

export class JsonShapeError extends Error {
  constructor(
    readonly at: string,
    expected: string,
    found: unknown,
  ) {
    super(`${at}: expected ${expected}, found ${describe(found)}`);
    this.name = 'JsonShapeError';
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${value}`;
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return typeof value;
  }
}

/** A view of one JSON object that reads typed fields and throws JsonShapeError naming the field. */
export class JsonObject {
  private constructor(
    private readonly value: Record<string, unknown>,
    readonly at: string,
  ) {}

  static of(value: unknown, at: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new JsonShapeError(at, 'an object', value);
    return new JsonObject(value as Record<string, unknown>, at);
  }

  has(name: string): boolean {
    return this.value[name] !== undefined;
  }

  raw(name: string): unknown {
    return this.value[name];
  }

  string(name: string): string {
    const v = this.value[name];
    if (typeof v !== 'string') throw new JsonShapeError(this.path(name), 'a string', v);
    return v;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  number(name: string, check: 'any' | 'nonNegative' | 'positive' | 'integer' | 'nonNegativeInteger' = 'any'): number {
    const v = this.value[name];
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (check === 'any' ||
        (check === 'nonNegative' && v >= 0) ||
        (check === 'positive' && v > 0) ||
        (check === 'integer' && Number.isInteger(v)) ||
        (check === 'nonNegativeInteger' && Number.isInteger(v) && v >= 0));
    if (!ok)
      throw new JsonShapeError(
        this.path(name),
        check === 'any' ? 'a finite number' : `a ${check.replace(/([A-Z])/g, ' $1').toLowerCase()} number`,
        v,
      );
    return v;
  }

  optionalNumber(
    name: string,
    check: 'any' | 'nonNegative' | 'positive' | 'integer' | 'nonNegativeInteger' = 'any',
  ): number | undefined {
    return this.has(name) ? this.number(name, check) : undefined;
  }

  boolean(name: string): boolean {
    const v = this.value[name];
    if (typeof v !== 'boolean') throw new JsonShapeError(this.path(name), 'true or false', v);
    return v;
  }

  literal<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.value[name];
    const found = allowed.find((a) => a === v);
    if (found === undefined) throw new JsonShapeError(this.path(name), `one of ${allowed.join(', ')}`, v);
    return found;
  }

  optionalLiteral<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.has(name) ? this.literal(name, allowed) : undefined;
  }

  object(name: string): JsonObject {
    return JsonObject.of(this.value[name], this.path(name));
  }

  optionalObject(name: string): JsonObject | undefined {
    return this.has(name) ? this.object(name) : undefined;
  }

  array<T>(name: string, read: (item: unknown, at: string) => T): T[] {
    const v = this.value[name];
    if (!Array.isArray(v)) throw new JsonShapeError(this.path(name), 'an array', v);
    return v.map((item: unknown, i) => read(item, `${this.path(name)}[${i}]`));
  }

  optionalArray<T>(name: string, read: (item: unknown, at: string) => T): T[] | undefined {
    return this.has(name) ? this.array(name, read) : undefined;
  }

  /** The object's own entries, for maps keyed by strings. */
  entries(): [string, unknown][] {
    return Object.entries(this.value);
  }

  private path(name: string): string {
    return this.at === '' ? name : `${this.at}.${name}`;
  }
}

export function readString(value: unknown, at: string): string {
  if (typeof value !== 'string') throw new JsonShapeError(at, 'a string', value);
  return value;
}
