/**
 * Remakes the committed XZ test vectors (NAME.xz here) from inputs.ts with XZ Utils' `xz`
 * (`npx tsx tests/boot/xz/make.ts`; made with xz 5.4.1). The test needs only the .xz files.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xzVectors } from './inputs';

for (const v of xzVectors()) {
  const out = execFileSync('xz', ['--compress', '--stdout', '--format=xz', ...v.xz], { input: v.input });
  writeFileSync(join(import.meta.dirname, `${v.name}.xz`), out);
  console.log(`${v.name}.xz: ${v.input.length} -> ${out.length} bytes (${v.xz.join(' ')})`);
}
