import { createRequire } from 'node:module';
import type HandlebarsModule from 'handlebars';

// The prebuilt bundle (compiler included) loads in a third of the time of the
// package's Node entry, which pulls in source-map and a file-extension hook.
const Handlebars = createRequire(import.meta.url)('handlebars/dist/handlebars.min.js') as typeof HandlebarsModule;
import { CompileError } from '../errors.js';
import { checkSingleQuery, lineAt, maskLiterals } from './single-select.js';
import type { Dialect } from '../warehouse/dialect.js';
import type { Project, ModelFile, MacroFile } from '../project/project-loader.js';
import { isIdentifierKind } from '../vocabulary/identifier-kinds.js';

type HelperOptions = HandlebarsModule.HelperOptions & { loc?: { start: { line: number; column: number } } };
type TemplateFn = (context: Record<string, unknown>) => string;

interface MacroDef {
  readonly name: string;
  readonly params: readonly string[];
  readonly body: TemplateFn;
  readonly file: string;
  /** Position of its file in project.macroFiles: a later file overrides an earlier one. */
  readonly order: number;
}

/**
 * A macro file, compiled only when a model calls one of its macros (compiling
 * every built-in on each start-up costs ~10 ms). Its macro names are read without
 * compiling it: `{{#macro 'name' …}}`, also with `~` whitespace control.
 */
interface MacroSource {
  readonly file: MacroFile;
  readonly order: number;
  readonly names: readonly string[];
  compiled: boolean;
}
const MACRO_NAME = /\{\{~?#macro\s+(['"])([^'"]+)\1/g;
const MACRO_BLOCK = /\{\{~?#macro\b/g;

/** Raised inside a helper; carries the template line so the message can point at it. */
class HelperProblem extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const ONE_QUERY_HINT = 'A model is a single SELECT (or WITH ... SELECT) that audsync wraps and runs itself; set-up statements belong in your warehouse pipeline.';

/** The model file's line of a problem found in its rendered SQL: the source's own stray ";" when it has one, else the rendered line. */
function problemLine(source: string, rendered: string, offset: number): number {
  if (rendered[offset] === ';') {
    const code = maskLiterals(source);
    const semi = /;(?=[\s\S]*\S)/.exec(code);
    if (semi) return lineAt(source, semi.index);
  }
  return lineAt(rendered, offset);
}

const PRIMITIVES = ['ref', 'source', 'var', 'macro', 'sql_hash', 'sql_normalize', 'sql_within_days', 'sql_is_true', 'sql_digits', 'sql_literal'];

/**
 * Renders models: Handlebars with ref/source/var, dialect primitives, and
 * macros dispatched as `<dialect>__name`, then `default__name`, then `name`.
 */
export class TemplateCompiler {
  private readonly hb = Handlebars.create();
  private readonly macros = new Map<string, MacroDef>();
  private readonly compiled = new Map<string, string>();
  private readonly stack: string[] = [];

  private readonly macroSources: MacroSource[];

  constructor(
    private readonly project: Project,
    private readonly dialect: Dialect,
    private readonly vars: Readonly<Record<string, string | number | boolean>>,
  ) {
    this.registerPrimitives();
    this.macroSources = project.macroFiles.map((file, order) => {
      const names = [...file.source.matchAll(MACRO_NAME)].map((m) => m[2]!);
      return { file, order, names, compiled: false };
    });
    // A file whose macro names cannot all be read without compiling it is compiled now.
    for (const src of this.macroSources) if ((src.file.source.match(MACRO_BLOCK)?.length ?? 0) !== src.names.length) this.loadMacroSource(src);
    this.registerDispatchers();
  }

  /** Compiles every macro file not compiled yet, so `audsync compile` reports a broken one even if no model uses it. */
  compileAllMacros(): void {
    for (const src of this.macroSources) this.loadMacroSource(src);
  }

  /** Model names, for messages. */
  modelNames(): string[] {
    return [...this.project.models.keys()];
  }

  /** The compiled SQL of a model (refs inlined), or a CompileError naming file and line. */
  compileModel(name: string): string {
    const done = this.compiled.get(name);
    if (done !== undefined) return done;
    const model = this.project.models.get(name);
    if (!model) {
      throw new CompileError(`no model named "${name}" (looked for models/${name}.sql)`, {
        hint: `Known models: ${this.modelNames().join(', ') || 'none'}.`,
      });
    }
    if (this.stack.includes(name)) {
      throw new CompileError(`${model.file}: circular ref: ${[...this.stack, name].join(' -> ')}`, { hint: 'Break the cycle of refs.' });
    }
    this.stack.push(name);
    try {
      const rendered = this.render(model);
      const checked = checkSingleQuery(rendered);
      if ('offset' in checked) throw new CompileError(`${model.file}:${problemLine(model.source, rendered, checked.offset)}: ${checked.message}`, { hint: ONE_QUERY_HINT });
      const sql = checked.sql.trim();
      if (sql === '') throw new CompileError(`${model.file}: the model is empty`, { hint: 'A model is one SELECT statement.' });
      this.compiled.set(name, sql);
      return sql;
    } finally {
      this.stack.pop();
    }
  }

  private render(model: ModelFile): string {
    let template: TemplateFn;
    try {
      template = this.hb.compile(model.source, { noEscape: true, strict: true, knownHelpers: this.knownHelpers(), knownHelpersOnly: true });
      return template({});
    } catch (e) {
      throw this.toCompileError(e, model.file);
    }
  }

  private knownHelpers(): Record<string, boolean> {
    const known: Record<string, boolean> = {};
    for (const name of Object.keys(this.hb.helpers)) known[name] = true;
    return known;
  }

  private toCompileError(e: unknown, file: string): CompileError {
    if (e instanceof CompileError) return e;
    if (e instanceof HelperProblem) {
      return new CompileError(`${file}${e.line ? `:${e.line}` : ''}: ${e.message}`, { hint: e.hint });
    }
    const msg = (e as Error).message ?? String(e);
    // Handlebars says "Parse error on line N:" or "... - N:C" for unknown helpers and missing vars.
    const parse = /Parse error on line (\d+):([\s\S]*)/.exec(msg);
    if (parse) {
      return new CompileError(`${file}:${parse[1]}: template syntax error:${parse[2]!.trimEnd()}`, {
        hint: 'Check the {{ }} expressions on that line (balanced braces, quoted strings, closed blocks).',
      });
    }
    const loc = / - (\d+):(\d+)$/.exec(msg);
    const line = loc ? `:${loc[1]}` : '';
    const unknownHelper = /unknown helper (\S+)/.exec(msg);
    if (unknownHelper) {
      return new CompileError(`${file}${line}: unknown macro or helper "${unknownHelper[1]}"`, {
        hint: `Built-in: ref, source, var and the macros in macros/. Define your own in macros/*.sql.`,
      });
    }
    const missing = /"?([\w.]+)"? not defined in/.exec(msg);
    if (missing) {
      return new CompileError(`${file}${line}: "${missing[1]}" is not defined`, {
        hint: "Use {{var 'name'}} for project variables; strings passed to macros need quotes.",
      });
    }
    return new CompileError(`${file}${line}: ${msg.replace(/ - \d+:\d+$/, '')}`, { cause: e });
  }

  private registerPrimitives(): void {
    const d = this.dialect;
    const line = (o: HelperOptions): number | undefined => o.loc?.start.line;
    const args = (all: unknown[]): { params: unknown[]; options: HelperOptions } => ({
      params: all.slice(0, -1),
      options: all[all.length - 1] as HelperOptions,
    });
    const str = (v: unknown, what: string, o: HelperOptions): string => {
      if (typeof v !== 'string' || v.length === 0) throw new HelperProblem(`${what} must be a quoted string`, line(o));
      return v;
    };
    this.hb.registerHelper('ref', (...all: unknown[]) => {
      const { params, options } = args(all);
      const name = str(params[0], "ref's argument", options);
      if (!this.project.models.has(name)) {
        throw new HelperProblem(`unknown ref "${name}"`, line(options), `Known models: ${this.modelNames().join(', ')}.`);
      }
      return `(\n${this.compileModel(name)}\n)`;
    });
    this.hb.registerHelper('source', (...all: unknown[]) => {
      const { params, options } = args(all);
      if (params.length === 1) return d.quoteIdent(str(params[0], 'source table', options));
      return d.relation(str(params[0], 'source schema', options), str(params[1], 'source table', options));
    });
    this.hb.registerHelper('var', (...all: unknown[]) => {
      const { params, options } = args(all);
      const name = str(params[0], "var's argument", options);
      const value = name in this.vars ? this.vars[name] : params[1];
      if (value === undefined) {
        throw new HelperProblem(`var "${name}" is not set`, line(options), `Add vars: { ${name}: … } to the config, or give a default: {{var '${name}' 'default'}}.`);
      }
      // Strings become SQL literals so a var can never inject SQL; numbers and booleans stay bare.
      return typeof value === 'string' ? d.quoteLiteral(value) : String(value);
    });
    this.hb.registerHelper('sql_literal', (...all: unknown[]) => d.quoteLiteral(String(args(all).params[0])));
    this.hb.registerHelper('sql_hash', (...all: unknown[]) => {
      const { params, options } = args(all);
      const kind = str(params[0], 'identifier kind', options);
      if (!isIdentifierKind(kind)) throw new HelperProblem(`unknown identifier kind "${kind}"`, line(options));
      return d.hashIdentifier(kind, str(params[1], 'column', options));
    });
    this.hb.registerHelper('sql_normalize', (...all: unknown[]) => {
      const { params, options } = args(all);
      const kind = str(params[0], 'identifier kind', options);
      if (!isIdentifierKind(kind)) throw new HelperProblem(`unknown identifier kind "${kind}"`, line(options));
      return d.normalizeIdentifier(kind, str(params[1], 'column', options));
    });
    this.hb.registerHelper('sql_within_days', (...all: unknown[]) => {
      const { params, options } = args(all);
      const days = Number(params[1]);
      if (!Number.isFinite(days)) throw new HelperProblem('within_days needs a number of days', line(options));
      return d.withinDays(str(params[0], 'column', options), days);
    });
    this.hb.registerHelper('sql_is_true', (...all: unknown[]) => {
      const { params, options } = args(all);
      return d.isTrue(str(params[0], 'column', options));
    });
    this.hb.registerHelper('sql_digits', (...all: unknown[]) => {
      const { params, options } = args(all);
      return d.digitsOnly(str(params[0], 'column', options));
    });
    // Defining a macro: {{#macro 'default__name' 'param1' 'param2'}}body{{/macro}}
    this.hb.registerHelper('macro', (...all: unknown[]) => {
      const { params, options } = args(all);
      const name = str(params[0], 'macro name', options);
      const names = params.slice(1).map((p) => str(p, 'macro parameter', options));
      const { file, order } = this.loading ?? { file: '', order: -1 };
      // Files compile lazily, in any order: the later file in project order still wins.
      if ((this.macros.get(name)?.order ?? -1) <= order) this.macros.set(name, { name, params: names, body: options.fn as TemplateFn, file, order });
      return '';
    });
  }

  private loading: { file: string; order: number } | undefined;

  private loadMacroSource(src: MacroSource): void {
    if (src.compiled) return;
    src.compiled = true;
    // A model's render may be what asks for this file: keep the caller's state.
    const outer = this.loading;
    this.loading = { file: src.file.file, order: src.order };
    try {
      this.hb.compile(src.file.source, { noEscape: true })({});
    } catch (e) {
      throw this.toCompileError(e, src.file.file);
    } finally {
      this.loading = outer;
    }
  }

  /** Compiles the files that define `name`, so this.macros holds its winning definition. */
  private ensureMacro(name: string): void {
    for (const src of this.macroSources) if (!src.compiled && src.names.includes(name)) this.loadMacroSource(src);
  }

  private registerDispatchers(): void {
    const bases = new Set<string>();
    const declared = [...this.macros.keys(), ...this.macroSources.flatMap((src) => src.names)];
    for (const name of declared) bases.add(name.includes('__') ? name.slice(name.indexOf('__') + 2) : name);
    for (const base of bases) {
      if (PRIMITIVES.includes(base)) continue;
      this.hb.registerHelper(base, (...all: unknown[]) => {
        const options = all[all.length - 1] as HelperOptions;
        const params = all.slice(0, -1);
        const candidates = [`${this.dialect.name}__${base}`, `default__${base}`, base];
        for (const name of candidates) this.ensureMacro(name);
        const def = candidates.map((name) => this.macros.get(name)).find((m) => m !== undefined);
        if (!def) throw new HelperProblem(`macro ${base} has no version for ${this.dialect.name}`, options.loc?.start.line);
        if (params.length > def.params.length) {
          throw new HelperProblem(`macro ${base} takes ${def.params.length} argument(s) (${def.params.join(', ')}), got ${params.length}`, options.loc?.start.line);
        }
        const ctx: Record<string, unknown> = {};
        def.params.forEach((p, i) => (ctx[p] = params[i]));
        return def.body(ctx);
      });
    }
  }
}
