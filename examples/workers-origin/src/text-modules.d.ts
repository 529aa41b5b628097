// The built browser snippet, imported as text by wrangler's [[rules]] type = "Text" (wrangler.toml).
declare module '*/dist/lib/browser.js' {
  const source: string;
  export default source;
}
