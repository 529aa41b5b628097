// Text output of the CLI: colours (only on a terminal, never with NO_COLOR), aligned tables.
import type { Action } from '../engine/types';
import type { CliIo, OutputStream } from './io';

/** ANSI styles the CLI uses. */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

/** Paints text for one stream: a no-op unless it is a TTY and NO_COLOR is unset or empty. */
export type Painter = (style: Style, text: string) => string;

/**
 * The painter for a stream. Honours https://no-color.org (any non-empty NO_COLOR disables colour).
 * @param stream where the text goes
 * @param env the environment (NO_COLOR)
 */
export function painterFor(stream: OutputStream, env: CliIo['env']): Painter {
  const on = stream.isTTY && !env.NO_COLOR;
  return on ? (style, text) => `\u001b[${CODES[style][0]}m${text}\u001b[${CODES[style][1]}m` : (_style, text) => text;
}

/** The colour of a decision. */
export const ACTION_STYLE: Readonly<Record<Action, Style>> = { allow: 'green', challenge: 'yellow', deny: 'red' };

/** Visible width of text that may hold ANSI colour codes. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex -- strips the ANSI escapes painterFor adds
  return text.replace(/\u001b\[\d+m/g, '').length;
}

/**
 * Aligned columns, two spaces apart; numeric-looking cells are right-aligned.
 * @param rows the first row is the header
 */
export function table(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) =>
      indent +
      row
        .map((cell, i) => {
          const pad = ' '.repeat((widths[i] ?? 0) - visibleLength(cell));
          return /^[-+]?\d[\d.,%]*$/.test(cell) ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** "12.3%" of a part, or "-" when the whole is 0. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((part / whole) * 100).toFixed(1)}%`;
}
