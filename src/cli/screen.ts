// Drawing a watch frame in place (like `kubectl argo rollouts get rollout --watch`): on a terminal the
// cursor goes home, each line overwrites the previous frame's and clears its rest, then everything below is
// cleared, so there is no flicker; piped output gets each frame appended with a separator. Pure.

const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
export const HIDE_CURSOR = "\x1b[?25l";
export const SHOW_CURSOR = "\x1b[?25h";

export function redraw(frame: string, tty: boolean): string {
  if (!tty) return `${frame.endsWith("\n") ? frame : `${frame}\n`}\n`;
  const lines = frame.replace(/\n$/, "").split("\n");
  return `${HOME}${lines.map((l) => `${l}${CLEAR_LINE_END}`).join("\n")}\n${CLEAR_BELOW}`;
}
