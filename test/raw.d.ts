// Vite's `?raw` imports (used by tests to read example configuration files as text).
declare module '*?raw' {
  const text: string;
  export default text;
}
