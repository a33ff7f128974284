// spec/helpers/html-page.ts
// Reading the demo's HTML pages as a browser (and a user) would: forms, their fields, the visible text.

/** Decodes the five escapes the demo emits, as a browser would. */
export function decodeEntities(value: string): string {
  return value.replace(/&quot;|&#39;|&lt;|&gt;|&amp;/g, (entity) => ({ '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' })[entity] ?? entity);
}

/** The form's action and its inputs that carry a value, decoded as a browser would. */
export function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]*)">/.exec(html);
  if (!action) throw new Error(`no form in:\n${html}`);
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input [^>]*name="([^"]*)"[^>]* value="([^"]*)"[^>]*>/g)) fields[decodeEntities(match[1])] = decodeEntities(match[2]);
  return { action: decodeEntities(action[1]), fields };
}

/** The text of the page's <main>, tags stripped and entities decoded: what a user reads. */
export function visibleText(html: string): string {
  const main = /<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? '';
  return decodeEntities(main.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}
