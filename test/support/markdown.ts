/** Command lines of a markdown file's sh/bash/shell code blocks: continuations joined, comments dropped, `&&` split. */
export function commandLines(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const code = line.replace(/(^|\s)#.*$/, '').trim();
      if (code) out.push(...code.split('&&').map((c) => c.trim()).filter(Boolean));
    }
  }
  return out;
}
