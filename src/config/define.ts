/**
 * How a setting is declared, once: its path, type and validation (a zod schema), default,
 * environment variables, description and readers — as Kafka declares its settings with
 * `ConfigDef.define(name, type, default, validator, importance, doc)` and prints its docs from
 * them. The configuration schema, the defaults, the environment parsing and the table of
 * docs/configuration.md are all derived from the declarations (src/config/settings.ts), so
 * adding a setting is one declaration and the code that reads it.
 */
import { type core, type ZodType, z } from 'zod';

/**
 * Who reads a setting: the component, the worker threads (which get the settings declared as
 * read by them, as plain data across the thread boundary: src/config/worker-settings.ts), or the
 * loading of the configuration itself.
 */
export type Reader =
  | 'CLI'
  | 'configuration'
  | 'control plane'
  | 'deadline timer'
  | 'global tables'
  | 'kafka clients'
  | 'logger'
  | 'metrics'
  | 'request pipeline'
  | 'retention sweep'
  | 'service'
  | 'store'
  | 'topic creation'
  | 'worker pool'
  | 'workers';

/** An environment variable that sets a setting, or one entry of a setting that is a record. */
export interface EnvVariable {
  readonly name: string;
  /** The record entry it sets (kafka.security.settings: a librdkafka property). */
  readonly entry?: string;
  /** What the entry is (a record's entries have no declaration of their own). */
  readonly doc?: string;
}

export interface Setting<S extends ZodType = ZodType, R extends readonly Reader[] = readonly Reader[]> {
  readonly kind: 'setting';
  /** Type and validation; its messages are what a bad value is told. */
  readonly schema: S;
  /** Absent: filled in at load (`pending.calendar`, from the calendar file). */
  readonly default?: z.input<S>;
  readonly env: readonly EnvVariable[];
  readonly doc: string;
  /** Its readers, as a literal type: what `ReadBy` selects by. */
  readonly readBy: R;
  /** How the docs name the type where the schema's shape says too little (records, objects). */
  readonly type?: string;
}

/** Settings by key: a section of the configuration. */
export type Settings = { readonly [key: string]: Setting | Section };

/** The zod schema a declaration derives. */
export type SchemaOf<N> =
  N extends Setting<infer S> ? S : N extends Section<infer C> ? SectionSchema<C> : never;
export type SectionSchema<C extends Settings> = z.ZodObject<
  { -readonly [K in keyof C]: SchemaOf<C[K]> },
  core.$strict
>;

export interface Section<C extends Settings = Settings> {
  readonly kind: 'section';
  readonly entries: C;
  /** Rules across the section's settings, reported at the path they name. */
  check?(value: z.output<SectionSchema<C>>, ctx: core.$RefinementCtx<z.output<SectionSchema<C>>>): void;
}

export interface SettingOptions<S extends ZodType, R extends readonly Reader[]> {
  readonly schema: S;
  readonly default?: z.input<S>;
  /** One variable's name, or several (record entries). */
  readonly env?: string | readonly EnvVariable[];
  readonly doc: string;
  readonly readBy: R;
  readonly type?: string;
}

/** Declares one setting; its readers keep their literal type (`ReadBy` selects by them). */
export function setting<S extends ZodType, const R extends readonly Reader[]>(
  options: SettingOptions<S, R>,
): Setting<S, R> {
  const { env, ...rest } = options;
  return {
    kind: 'setting',
    ...rest,
    env: env === undefined ? [] : typeof env === 'string' ? [{ name: env }] : env,
  };
}

/** Declares a section; `check` holds the rules across its settings. */
export function section<C extends Settings>(entries: C, check?: Section<C>['check']): Section<C> {
  return check === undefined ? { kind: 'section', entries } : { kind: 'section', entries, check };
}

/** The strict zod schema of a section (unknown keys refused), its checks after its settings'. */
export function schemaOf<C extends Settings>(node: Section<C>): SectionSchema<C> {
  const shape = Object.fromEntries(
    Object.entries(node.entries).map(([key, child]) => [
      key,
      child.kind === 'setting' ? child.schema : schemaOf(child),
    ]),
  );
  const object = z.strictObject(shape) as unknown as SectionSchema<C>;
  const { check } = node;
  return check === undefined ? object : object.superRefine((value, ctx) => check.call(node, value, ctx));
}

/** Whether a declaration is, or holds, a setting `W` reads. */
type Reads<N, W extends Reader> =
  N extends Setting<ZodType, infer R>
    ? W extends R[number]
      ? true
      : false
    : N extends Section<infer C>
      ? true extends { [K in keyof C]: Reads<C[K], W> }[keyof C]
        ? true
        : false
      : false;

/**
 * The part of a section's configuration that `W` reads: the settings declared as read by it, in
 * their sections (a section none of whose settings it reads is left out). What the workers get:
 * src/config/worker-settings.ts.
 */
export type ReadBy<C extends Settings, W extends Reader> = {
  readonly [K in keyof C as Reads<C[K], W> extends true ? K : never]: C[K] extends Section<infer D>
    ? ReadBy<D, W>
    : z.output<SchemaOf<C[K]>>;
};

function reads(node: Setting | Section, reader: Reader): boolean {
  return node.kind === 'setting'
    ? node.readBy.includes(reader)
    : Object.values(node.entries).some((child) => reads(child, reader));
}

/** A configuration (the value of a section) pruned to what `reader` reads, as `ReadBy` types it. */
export function readBy<C extends Settings, W extends Reader>(
  node: Section<C>,
  value: z.output<SectionSchema<C>>,
  reader: W,
): ReadBy<C, W> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.entries)) {
    if (!reads(child, reader)) continue;
    const inner: unknown = (value as Record<string, unknown>)[key];
    out[key] = child.kind === 'setting' ? inner : readBy(child, inner as never, reader);
  }
  return out as ReadBy<C, W>;
}

/** A setting with where it sits. */
export interface DeclaredSetting {
  readonly path: readonly string[];
  readonly setting: Setting;
}

/** Every setting of a section, depth first in declaration order. */
export function settingsOf(node: Section, path: readonly string[] = []): DeclaredSetting[] {
  return Object.entries(node.entries).flatMap(([key, child]) =>
    child.kind === 'setting' ? [{ path: [...path, key], setting: child }] : settingsOf(child, [...path, key]),
  );
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The defaults as the JSON an operator's file (IMEIFLOW_CONFIG) is merged over. */
export function defaultsOf(node: Section): JsonObject {
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(node.entries)) {
    if (child.kind === 'section') out[key] = defaultsOf(child);
    // A default is JSON by construction: it is what the schema takes as input from a file.
    else if (child.default !== undefined) out[key] = structuredClone(child.default) as Json;
  }
  return out;
}

/** How an environment variable's text becomes a value, from the type of the setting it sets. */
export type EnvKind = 'string' | 'int' | 'nullable-int' | 'list' | 'boolean';

export function envKindOf(schema: ZodType): EnvKind {
  const nullable = schema instanceof z.ZodNullable;
  const inner: unknown = nullable ? schema.unwrap() : schema;
  if (inner instanceof z.ZodNumber) return nullable ? 'nullable-int' : 'int';
  if (inner instanceof z.ZodBoolean) return 'boolean';
  if (inner instanceof z.ZodArray) return 'list';
  return 'string';
}

/** An environment variable and where it lands in the configuration. */
export interface EnvBinding {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: EnvKind;
}

export function envBindingsOf(node: Section): EnvBinding[] {
  return settingsOf(node).flatMap(({ path, setting }) =>
    setting.env.map((variable) =>
      variable.entry === undefined
        ? { name: variable.name, path, kind: envKindOf(setting.schema) }
        : { name: variable.name, path: [...path, variable.entry], kind: 'string' as const },
    ),
  );
}
