// Handlebars for scripts, units and text (never for YAML documents: those are dumped from typed
// objects by ./yaml.ts). Templates live in templates/ and are precompiled at build time
// (scripts/build-templates.mjs) in strict mode, so a missing value is an error rather than an
// empty string, and without HTML escaping. Every value interpolated into a shell script goes
// through the `sh` helper (or `comment` in comments).
import HandlebarsRuntime from 'handlebars/runtime.js';
type TemplateSpecification = Parameters<typeof import('handlebars')['template']>[0];
import { shellQuote } from './shell.js';
import { specs, texts } from './templates.generated.js';

// The runtime's typings are incomplete; it is the same API as the full package's.
const Handlebars = HandlebarsRuntime as unknown as typeof import('handlebars');
const handlebars = Handlebars.create();
handlebars.registerHelper('sh', (value: unknown) => {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`sh helper: cannot quote a ${typeof value}`);
  }
  return shellQuote(value);
});
// For names in comments: a comment ends at a newline, so anything but plain name characters is
// replaced; the value itself reaches the script only through `sh`.
handlebars.registerHelper('comment', (value: unknown) => String(value).replace(/[^A-Za-z0-9._-]/g, '?'));

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** A template file's text as it is (for files with nothing to fill in). */
export function templateText(name: string): string {
  const text = (texts as Record<string, string>)[name];
  if (text === undefined) throw new Error(`no template file ${name}`);
  return text;
}

export function renderTemplate(name: string, context: object): string {
  let template = compiled.get(name);
  if (!template) {
    const spec = (specs as Record<string, TemplateSpecification>)[name];
    if (spec === undefined) throw new Error(`no template ${name}`);
    template = handlebars.template(spec);
    compiled.set(name, template);
  }
  return template(context);
}
