// Extracts the TypeScript code blocks of q's docs into files of an app that
// has q installed, so that `tsc` checks them: docs that no longer compile
// fail CI. A block preceded by `<!-- ts-prelude: … -->` gets that line of
// declarations first (the names the snippet takes as given); a block preceded
// by `<!-- ts-skip -->` is not checked.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/** The docs a user reads: the READMEs of the project and of every published package, and GUARANTEES.md. */
export function docFiles(root) {
  const files = ["README.md", "GUARANTEES.md"];
  for (const dir of readdirSync(join(root, "packages"))) {
    const json = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
    if (!json.private) files.push(join("packages", dir, "README.md"));
  }
  return files.map((f) => join(root, f));
}

/** Writes one `.ts` file per block into `outDir`; returns how many. */
export function writeSnippets(root, outDir) {
  mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const file of docFiles(root)) {
    const lines = readFileSync(file, "utf8").split("\n");
    const name = relative(root, file).replace(/[^A-Za-z0-9]+/g, "_");
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
      const marker = (lines[i - 1] ?? "").trim();
      const end = lines.indexOf("```", i + 1);
      const body = lines.slice(i + 1, end);
      const line = i + 1;
      i = end;
      if (marker === "<!-- ts-skip -->") continue;
      const prelude = /^<!-- ts-prelude: (.*) -->$/.exec(marker)?.[1] ?? "";
      writeFileSync(
        join(outDir, `${name}_${line}.ts`),
        `// ${relative(root, file)}:${line}\n${prelude}\n${body.join("\n")}\nexport {};\n`,
      );
      count++;
    }
  }
  return count;
}
