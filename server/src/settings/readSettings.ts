// Reads the editor's `ringkernel` section (any shape: other editors send what they like) against
// the declarations. A missing value takes the default silently; a bad one is a problem that says
// what was wrong and which value is used instead, and the valid settings around it still apply.
import {
  SETTING_DECLARATIONS,
  type RingKernelSettings,
  type SettingDeclaration,
  type SettingName,
} from './settingDeclarations';

export interface SettingProblem {
  setting: `ringkernel.${string}`;
  /** e.g. "ringkernel.kernels.stepTimeoutMs: 50 is below the minimum 100; using 100". */
  message: string;
}

export interface SettingsRead {
  settings: RingKernelSettings;
  problems: SettingProblem[];
}

/** The value at a dotted name: VS Code sends nested objects ({ kernels: { autoStart } }), some editors flat keys. */
function lookUp(section: Readonly<Record<string, unknown>>, name: string): unknown {
  if (name in section) return section[name];
  let node: unknown = section;
  for (const part of name.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Enum members match regardless of case and separators ("RoundRobin", "round_robin"), as before. */
function enumMember(members: readonly string[], value: string): string | undefined {
  const wanted = value.replace(/[_\s-]/g, '').toLowerCase();
  return members.find((m) => m.toLowerCase() === wanted);
}

function readOne(
  declaration: SettingDeclaration,
  value: unknown,
  complain: (what: string, using: unknown) => void,
): unknown {
  switch (declaration.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      complain('is not true or false', declaration.default);
      return declaration.default;
    case 'string': {
      if (typeof value !== 'string') {
        complain('is not a string', declaration.default);
        return declaration.default;
      }
      if (!declaration.enum) return value.trim();
      const member = enumMember(declaration.enum, value);
      if (member !== undefined) return member;
      complain(`is not one of ${declaration.enum.join(', ')}`, declaration.default);
      return declaration.default;
    }
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        complain('is not a number', declaration.default);
        return declaration.default;
      }
      let used = value;
      if (declaration.type === 'integer' && !Number.isInteger(used)) used = Math.round(used);
      if (declaration.minimum !== undefined && used < declaration.minimum) used = declaration.minimum;
      if (declaration.maximum !== undefined && used > declaration.maximum) used = declaration.maximum;
      if (used !== value) {
        const bounds = [
          declaration.minimum !== undefined ? `at least ${declaration.minimum}` : '',
          declaration.maximum !== undefined ? `at most ${declaration.maximum}` : '',
        ]
          .filter(Boolean)
          .join(' and ');
        complain(
          `is not ${declaration.type === 'integer' ? 'a whole number' : 'a number'}${bounds ? ` ${bounds}` : ''}`,
          used,
        );
      }
      return used;
    }
    case 'array': {
      if (!Array.isArray(value)) {
        complain('is not a list', declaration.default);
        return declaration.default;
      }
      const kept: string[] = [];
      const dropped: unknown[] = [];
      for (const item of value as unknown[]) {
        if (typeof item === 'string' && declaration.pattern.test(item)) {
          if (!kept.includes(item)) kept.push(item);
        } else dropped.push(item);
      }
      if (dropped.length > 0)
        complain(
          `has ${dropped.map((d) => JSON.stringify(d)).join(', ')}, which ${dropped.length === 1 ? 'is not a device key' : 'are not device keys'} like "cuda:0"`,
          kept,
        );
      return kept;
    }
  }
}

/** Reads a `ringkernel` section. Never throws: every problem is in `problems`, with the value used. */
export function readSettings(section: unknown): SettingsRead {
  const source = typeof section === 'object' && section !== null ? (section as Record<string, unknown>) : {};
  const problems: SettingProblem[] = [];
  const settings: Record<string, unknown> = {};
  for (const [name, declaration] of Object.entries(SETTING_DECLARATIONS) as [SettingName, SettingDeclaration][]) {
    const value = lookUp(source, name);
    if (value === undefined || value === null) {
      settings[name] = declaration.default;
      continue;
    }
    settings[name] = readOne(declaration, value, (what, using) => {
      problems.push({
        setting: `ringkernel.${name}`,
        message: `ringkernel.${name}: ${JSON.stringify(value)} ${what}; using ${JSON.stringify(using)}`,
      });
    });
  }
  return { settings: settings as RingKernelSettings, problems };
}

/** The defaults: what the server uses before the editor's settings arrive. */
export const DEFAULT_SETTINGS: RingKernelSettings = readSettings({}).settings;
