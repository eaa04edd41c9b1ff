// The systemd units of scripts/systemd/ (README "Production notes") pass
// `systemd-analyze verify`, with the paths pointed at this build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { root } from '../lib/flash.mjs';

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

test('systemd-1 every shipped unit passes systemd-analyze verify', { skip: !analyze && 'no systemd-analyze' }, () => {
  const src = `${root}/scripts/systemd`;
  const units = readdirSync(src).filter((f) => f.endsWith('.service'));
  assert.ok(units.length >= 4, `units: ${units}`);
  const dir = mkdtempSync(`${tmpdir()}/fs-units.`);
  try {
    const files = units.map((u) => {
      // a template is checked as one instance of it
      const name = u.replace('@.service', '@7000.service');
      const text = readFileSync(`${src}/${u}`, 'utf8')
        .replaceAll('/opt/flashsale/build/rel/bin', process.env.FLASH_BIN)
        .replaceAll('/opt/flashsale', root);
      writeFileSync(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    });
    const r = spawnSync(analyze, ['verify', ...files], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.split('\n').filter((l) => l.includes(dir)).join('\n'), '', r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
