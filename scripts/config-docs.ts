/**
 * docs/configuration.md's table of settings, from their declarations (src/config/settings.ts).
 * `npm run docs:config` writes it; test/unit/generated-files.test.ts fails when the committed
 * table is not what this builds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ZodType, z } from 'zod';
import { type DeclaredSetting, settingsOf } from '../src/config/define.js';
import { SETTINGS } from '../src/config/settings.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { markdownTable, replaceGenerated } from './markdown.js';

export const CONFIGURATION_FILE = join(PACKAGE_ROOT, 'docs/configuration.md');

/** The type as an operator reads it, from the schema (the declaration names what the schema cannot). */
function typeText(schema: ZodType, declared?: string): string {
  if (declared !== undefined) return declared;
  if (schema instanceof z.ZodNullable) return `${typeText(schema.unwrap() as ZodType)} or null`;
  if (schema instanceof z.ZodNumber) {
    const range = `${schema.minValue ?? '…'}–${schema.maxValue ?? '…'}`;
    return `${schema.isInt ? 'integer' : 'number'} ${range}`;
  }
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodEnum)
    return `one of ${schema.options.map((o) => `\`${String(o)}\``).join(', ')}`;
  if (schema instanceof z.ZodArray) return `list of ${typeText(schema.element as ZodType)}`;
  if (schema instanceof z.ZodString) return 'text';
  return 'object';
}

const UNITS: readonly [suffix: string, unit: readonly [number, string][]][] = [
  [
    'Ms',
    [
      [86_400_000, 'd'],
      [3_600_000, 'h'],
      [60_000, 'min'],
      [1000, 's'],
    ],
  ],
  [
    'Bytes',
    [
      [1024 ** 3, 'GiB'],
      [1024 ** 2, 'MiB'],
      [1024, 'KiB'],
    ],
  ],
];

/** A number of milliseconds or bytes also in the largest unit that divides it. */
function humane(name: string, value: number): string {
  for (const [suffix, units] of UNITS) {
    if (!name.endsWith(suffix)) continue;
    const found = units.find(([size]) => value >= size && value % size === 0);
    if (found !== undefined) return ` (${value / found[0]} ${found[1]})`;
  }
  return '';
}

function defaultText({ path, setting }: DeclaredSetting): string {
  const value: unknown = setting.default;
  if (value === undefined) return 'see meaning';
  if (Array.isArray(value)) return value.length === 0 ? '`[]`' : `\`${value.join(',')}\``;
  if (typeof value === 'object' && value !== null) return `\`${JSON.stringify(value)}\``;
  const text = `\`${String(value)}\``;
  return typeof value === 'number' ? text + humane(path[path.length - 1]!, value) : text;
}

/**
 * A setting's row, then a row per record entry a variable sets (`kafka.security.settings`): where
 * it is in the file, its variable, default, type, meaning and readers.
 */
function rowsOf(declared: DeclaredSetting): string[][] {
  const { path, setting } = declared;
  const readBy = setting.readBy.join(', ');
  const whole = setting.env.filter((v) => v.entry === undefined).map((v) => `\`${v.name}\``);
  const entries = setting.env.filter((v) => v.entry !== undefined);
  return [
    [
      `\`${path.join('.')}\``,
      whole.join(', '),
      defaultText(declared),
      typeText(setting.schema, setting.type),
      setting.doc,
      readBy,
    ],
    ...entries.map((v) => [
      `\`${path.join('.')}["${v.entry}"]\``,
      `\`${v.name}\``,
      'unset',
      'text',
      v.doc ?? '',
      readBy,
    ]),
  ];
}

export function configurationTable(): string {
  return markdownTable(
    ['setting', 'variable', 'default', 'type', 'meaning', 'read by'],
    settingsOf(SETTINGS).flatMap(rowsOf),
  );
}

/** docs/configuration.md with its table as the declarations say. */
export function configurationMarkdown(current = readFileSync(CONFIGURATION_FILE, 'utf8')): string {
  return replaceGenerated(current, 'settings', 'npm run docs:config', configurationTable());
}
