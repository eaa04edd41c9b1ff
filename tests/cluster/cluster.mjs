// cluster.mjs: what the cluster tests need to see and move the Redis Cluster
// of the test stack (DIR/redis-cluster, scripts/redis-cluster.sh).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { state } from '../lib/flash.mjs';

export const ports = () => readFileSync(`${state}/redis-cluster/ports`, 'utf8').trim().split('\n');

// redis-cli --raw against one node, not following redirections.
export function cli(port, ...args) {
  return execFileSync('redis-cli', ['-p', String(port), '--raw', ...args.map(String)], {
    encoding: 'utf8', timeout: 10000,
  }).replace(/\n$/, '');
}

// The nodes as CLUSTER NODES of a live node describes them:
// [{id, port, master (bool), masterId, slots: [[from, to]...], fail (bool)}]
export function nodes() {
  let text = null;
  for (const p of ports()) {
    try { text = cli(p, 'CLUSTER', 'NODES'); break; } catch { /* a dead node: ask another */ }
  }
  if (text === null) throw new Error('no cluster node answers');
  return text.split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    const flags = f[2].split(',');
    return {
      id: f[0], port: f[1].split('@')[0].split(':')[1], master: flags.includes('master'),
      masterId: f[3], fail: flags.includes('fail') || flags.includes('fail?'),
      slots: f.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
        const [a, b] = s.split('-').map(Number);
        return [a, b ?? a];
      }),
    };
  });
}

export const masters = () => nodes().filter((n) => n.master && !n.fail && n.slots.length > 0);
// (asked of the first node that answers: a fault test may have killed one)
export function slotOf(key) {
  for (const p of ports()) {
    try { return Number(cli(p, 'CLUSTER', 'KEYSLOT', key)); } catch { /* a dead node */ }
  }
  throw new Error('no cluster node answers');
}
export const ownerOf = (slot) => masters().find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
export const replicaOf = (master) => nodes().find((n) => !n.master && n.masterId === master.id);

// Starts moving slot from -> to as redis-cli --cluster reshard does: IMPORTING
// on to, MIGRATING on from, then MIGRATE of keys (all keys of the slot when
// null). The slot stays from's until finishSlot.
export function migrateSlot(slot, from, to, keys = null, mark = true) {
  if (mark) {
    cli(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id);
    cli(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
  }
  const ks = keys ?? cli(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 1000).split('\n').filter(Boolean);
  if (ks.length) cli(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...ks);
}

// Ends the move: the slot's keys left on from go too, and every master
// hears that to owns it (to first, then from, then the others).
export function finishSlot(slot, from, to) {
  migrateSlot(slot, from, to, null, false);
  cli(to.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
  cli(from.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
  for (const m of masters()) if (m.id !== to.id && m.id !== from.id) cli(m.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id);
}
