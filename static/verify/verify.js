// suiji draw verifier for the browser: checks a suiji-draw/1 or /2 bundle entirely here.
// Written from docs/draw-spec.md (parts A and B), independently of the Rust engine.
// SHA-256 from WebCrypto; ChaCha20 and BLS12-381 from the vendored @noble bundle.
// Nothing is sent anywhere: the bundle is read from a file or fetched from this same site.
import { bls12_381, chacha20 } from './noble.js';

const QUICKNET = {
  source: 'beacon:drand-quicknet',
  genesis: 1692803367,
  period: 3,
  publicKey: '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  dst: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_',
};

const utf8 = new TextEncoder();

// ---- bytes, hashes, canonical JSON (spec §1)
function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
function fromHex(h) {
  if (typeof h !== 'string' || h.length % 2 || !/^[0-9a-f]*$/.test(h)) throw new Error('不是小写十六进制: ' + h);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
  return out;
}
function concat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
async function sha(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}
async function shaHex(bytes) { return toHex(await sha(bytes)); }
function canon(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error('非整数: ' + v);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
}
const canonHash = (v) => shaHex(utf8.encode(canon(v)));

// ---- randomness (spec §3–4)
async function derive(seed, label, parts) {
  const chunks = [seed, utf8.encode(label)];
  for (const p of parts) chunks.push(new Uint8Array([0]), utf8.encode(p));
  return sha(concat(chunks));
}
const NONCE = new Uint8Array(12);
const ZEROS = new Uint8Array(256);
const TWO64 = 1n << 64n;
class Stream {
  constructor(key) { this.key = key; this.counter = 0; this.buf = null; this.pos = 0; }
  nextU64() {
    if (!this.buf || this.pos >= this.buf.length) {
      this.buf = chacha20(this.key, NONCE, ZEROS, undefined, this.counter);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.counter += 4;
      this.pos = 0;
    }
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  uniform(m) {
    const M = BigInt(m);
    const t = TWO64 % M;
    for (;;) {
      const r = this.nextU64();
      if (r >= t) return Number(r % M);
    }
  }
}
function pick(rng, list, k) {
  const a = list.slice();
  for (let i = 0; i < k; i++) {
    const j = i + rng.uniform(a.length - i);
    const x = a[i]; a[i] = a[j]; a[j] = x;
  }
  return a.slice(0, k);
}
// B.15–B.16: a stratum's draw with an optional per-value cap and groups.
async function drawStratum(seed, s, rs) {
  const cap = rs && rs.cap ? rs.cap : null;
  const group = rs && rs.group ? rs.group : null;
  for (const x of [cap, group]) {
    if (x && (!Array.isArray(x.values) || x.values.length !== s.members.length)) {
      throw new Failed('snapshot', `层 ${s.id} 的 cap/group 取值个数与成员数不符`);
    }
  }
  if (cap && !(Number.isSafeInteger(cap.max) && cap.max >= 1)) throw new Failed('snapshot', `层 ${s.id} 的 cap.max 至少为 1`);
  const run = (rng, idx) => {
    const k = stratumSize(idx.length, s);
    if (!cap) return pick(rng, idx, k);
    const a = idx.slice();
    const taken = new Map();
    const out = [];
    for (let i = 0; i < a.length && out.length < k; i++) {
      const j = i + rng.uniform(a.length - i);
      const x = a[i]; a[i] = a[j]; a[j] = x;
      const v = cap.values[a[i]];
      const t = taken.get(v) || 0;
      if (t < cap.max) { taken.set(v, t + 1); out.push(a[i]); }
    }
    return out;
  };
  const all = s.members.map((_, i) => i);
  if (!group) return run(new Stream(await derive(seed, 'stratum', [s.id])), all).map((i) => s.members[i]);
  const by = new Map();
  for (const i of all) {
    const g = group.values[i];
    if (!by.has(g)) by.set(g, []);
    by.get(g).push(i);
  }
  const out = [];
  for (const g of [...by.keys()].sort()) {
    for (const i of run(new Stream(await derive(seed, 'stratum', [s.id, g])), by.get(g))) out.push(s.members[i]);
  }
  return out;
}
// B.18: the tree form of a sample of records. Each stratum (each group) commits to its
// members by an RFC 9162 root and a size; the bundle discloses every member the draw
// considered, with its inclusion path; the draw runs over indices with a sparse shuffle.
function isTree(snap) {
  return !!(snap.records && Array.isArray(snap.records.strata) && snap.records.strata.some((r) => r.trees));
}
async function inclusion(leaf, index, size, path, rootHex) {
  if (!(index < size)) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const h of path) {
    if (sn === 0) return false;
    const p = fromHex(h);
    if (fn % 2 === 1 || fn === sn) {
      r = await sha(concat([new Uint8Array([1]), p, r]));
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else r = await sha(concat([new Uint8Array([1]), r, p]));
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && toHex(r) === rootHex;
}
async function drawTrees(seed, snap, members) {
  const fail = (m) => { throw new Failed('selection', m); };
  const hex64 = (h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h);
  const rss = snap.records.strata;
  let total = 0;
  snap.strata.forEach((s, si) => {
    const rs = rss[si];
    if (!rs || !Array.isArray(rs.trees)) throw new Failed('snapshot', `层 ${s.id} 缺少 trees（树形式的快照每层都要给出）`);
    if (s.members.length) throw new Failed('snapshot', `树形式下层 ${s.id} 不列出成员`);
    if ((rs.cap && rs.cap.values.length) || (rs.group && rs.group.values.length)) throw new Failed('snapshot', `树形式下层 ${s.id} 的 cap.values / group.values 应为空`);
    if (rs.cap && !(Number.isSafeInteger(rs.cap.max) && rs.cap.max >= 1)) throw new Failed('snapshot', `层 ${s.id} 的 cap.max 至少为 1`);
    if (!rs.group) {
      if (rs.trees.length !== 1 || rs.trees[0].group !== null) throw new Failed('snapshot', `层 ${s.id} 没有分组，应恰有一棵 group 为 null 的树`);
    } else {
      rs.trees.forEach((t, i) => {
        if (!hex64(t.group) || (i > 0 && !(rs.trees[i - 1].group < t.group)) || !(t.size >= 1)) throw new Failed('snapshot', `层 ${s.id} 的分组树未按取值哈希排序、重复或为空`);
      });
    }
    for (const t of rs.trees) {
      if (!hex64(t.root) || !Number.isSafeInteger(t.size) || t.size < 0) throw new Failed('snapshot', `层 ${s.id} 的树根或大小格式不对`);
      total += t.size;
    }
  });
  if (total > snap.records.list_rows) throw new Failed('snapshot', `各树共 ${total} 个成员，多于名单的 ${snap.records.list_rows} 条记录`);
  if (!Array.isArray(members)) fail('members 不是列表');
  const pos = new Map(snap.strata.map((s, i) => [s.id, i]));
  const key = (si, g, idx) => `${si}\0${g === null ? '' : g}\0${idx}`;
  const known = new Map();
  let last = null;
  const checks = [];
  for (const m of members) {
    const who = `成员 ${m.member}（层 ${m.stratum}，位置 ${m.index}）`;
    const si = pos.get(m.stratum);
    if (si === undefined) fail(`${who}：没有这个层`);
    const place = [si, m.group === null ? '' : m.group, m.index];
    if (last && !(last[0] < place[0] || (last[0] === place[0] && (last[1] < place[1] || (last[1] === place[1] && last[2] < place[2]))))) fail(`${who}：members 未按层、分组、位置排序或有重复`);
    last = place;
    const rs = rss[si];
    const t = rs.trees.find((x) => x.group === m.group);
    if (!t) fail(`${who}：该层没有这个分组`);
    if (!(Number.isSafeInteger(m.index) && m.index >= 0 && m.index < t.size)) fail(`${who}：位置超出树的大小 ${t.size}`);
    if (!hex64(m.member)) fail(`${who}：不是成员哈希`);
    if (!!rs.cap !== (m.cap_value !== null)) fail(`${who}：cap_value ${rs.cap ? '缺失' : '多余'}`);
    if (rs.cap && !hex64(m.cap_value)) fail(`${who}：cap_value 不是哈希`);
    if (!m.path.every(hex64)) fail(`${who}：路径中有非哈希值`);
    checks.push((async () => {
      const leaf = await sha(concat([new Uint8Array([0]), fromHex(m.member), rs.cap ? fromHex(m.cap_value) : new Uint8Array(0)]));
      return (await inclusion(leaf, m.index, t.size, m.path, t.root)) ? null : `${who}：包含路径不能导出该树的根哈希（the path does not lead to the tree's root）`;
    })());
    known.set(key(si, m.group, m.index), m);
  }
  const bad = (await Promise.all(checks)).find((x) => x);
  if (bad) fail(bad);
  const out = [];
  const parts = [];
  let used = 0;
  for (const [si, s] of snap.strata.entries()) {
    const rs = rss[si];
    let n0 = 0, k0 = 0;
    for (const t of rs.trees) {
      const n = t.size, k = stratumSize(n, s);
      const rng = new Stream(await derive(seed, 'stratum', t.group === null ? [s.id] : [s.id, t.group]));
      const a = new Map();
      const taken = new Map();
      let got = 0;
      for (let i = 0; i < n && got < k; i++) {
        const j = i + rng.uniform(n - i);
        const ai = a.has(i) ? a.get(i) : i;
        const aj = a.has(j) ? a.get(j) : j;
        a.set(j, ai); a.delete(i);
        const m = known.get(key(si, t.group, aj));
        if (!m) fail(`层 ${s.id}${t.group === null ? '' : ' 分组 ' + t.group} 位置 ${aj} 的成员被抽取过程考察，但核验包没有披露（not disclosed）`);
        used++;
        if (rs.cap) {
          const c = taken.get(m.cap_value) || 0;
          if (c >= rs.cap.max) continue;
          taken.set(m.cap_value, c + 1);
        }
        got++;
        out.push({ s, m: { id: m.member } });
      }
      n0 += n; k0 += got;
    }
    parts.push(`${s.id}: ${n0} 条抽 ${k0} 条（树形式）`);
  }
  if (used !== members.length) fail(`披露了 ${members.length} 个成员，抽取过程只考察了 ${used} 个`);
  return { out, summary: parts.join('；') };
}
function stratumSize(n, s) {
  const num = BigInt(s.ratio.num), den = BigInt(s.ratio.den);
  let k = Number((BigInt(n) * num + den - 1n) / den);
  if (s.max !== null) k = Math.min(k, s.max);
  k = Math.max(k, s.min);
  return Math.min(k, n);
}

// ---- the report
class Failed extends Error {
  constructor(step, message) { super(message); this.step = step; }
}
const STEP_NAMES = {
  bundle: '读取核验包', snapshot: '封存快照', pool_hash: '快照 → 池哈希', conflicts: '回避关系（默克尔树）',
  commitment: '各部门的承诺与揭示', beacon: '公共随机信标签名', forfeit: '未按时揭示（弃权）', seed: '种子',
  selection: '各层抽中的机构', team: '各检查组', result_hash: '结果哈希', replacement: '递补记录链', exclusion: '前轮排除',
};

// ---- verification
export async function verifyBundle(b, previous = [], log = () => {}) {
  const step = (name, ok, detail) => log(name, ok, detail);
  const must = (cond, name, msg) => { if (!cond) throw new Failed(name, msg); };
  must(b && (b.spec === 'suiji-draw/1' || b.spec === 'suiji-draw/2'), 'bundle', '规格不是 suiji-draw/1 或 suiji-draw/2: ' + (b && b.spec));
  const v2 = b.spec === 'suiji-draw/2';
  const snap = b.snapshot, result = b.result;
  must(snap && result && snap.spec === b.spec && result.spec === b.spec, 'bundle', '快照或结果的规格与核验包不一致');
  step('bundle', true, b.spec + '，任务 ' + snap.task_id);

  checkSnapshot(snap, v2);
  step('snapshot', true, `${snap.strata.length} 个层，${snap.departments.length} 个部门`);

  const poolHash = await canonHash(snap);
  must(poolHash === result.pool_hash, 'pool_hash', `快照的哈希是 ${poolHash}，结果中写的是 ${result.pool_hash}`);
  step('pool_hash', true, poolHash);

  // Conflicts: institution -> Set of inspector ids (v2), or per-inspector lists (v1).
  const pool = [];
  for (const s of snap.strata) for (const m of s.members) pool.push(m.id);
  let conflictsOf;
  if (v2) {
    conflictsOf = await checkConflicts(b, pool);
    step('conflicts', true, b.conflicts.full ? `完整回避名单 ${pool.length} 条，根哈希一致` : `${b.conflicts.proofs.length} 条默克尔证明均指向根哈希 ${snap.conflicts_root}`);
  } else {
    const map = new Map();
    for (const d of snap.departments) for (const i of d.inspectors) for (const c of i.conflicts) {
      const k = d.code + '\0' + c;
      if (!map.has(k)) map.set(k, new Set());
      map.get(k).add(i.id);
    }
    conflictsOf = (id, dept) => map.get(dept + '\0' + id);
  }

  // Commitments and reveals.
  const plan = snap.entropy_plan;
  const reveals = new Map();
  for (const e of b.entropy) {
    must(!reveals.has(e.source), 'commitment', e.source + ' 出现了两次');
    reveals.set(e.source, e.value);
  }
  const forfeited = v2 ? b.forfeited : [];
  const seedEntropy = [];
  let beaconPlan = null;
  for (const p of plan) {
    if (p.source.startsWith('department:')) {
      const v = reveals.get(p.source);
      if (v === undefined) {
        must(forfeited.includes(p.source), 'commitment', p.source + ' 既没有揭示也没有记为弃权');
        continue;
      }
      must(!forfeited.includes(p.source), 'forfeit', p.source + ' 既已揭示又记为弃权');
      must(/^([0-9a-f]{2})+$/.test(v), 'commitment', p.source + ' 的揭示值不是小写十六进制');
      must(await shaHex(fromHex(v)) === p.commitment, 'commitment', p.source + ' 的揭示值与其承诺不符');
      seedEntropy.push({ source: p.source, value: v });
      reveals.delete(p.source);
    } else if (v2) {
      beaconPlan = p;
    } else {
      const v = reveals.get(p.source);
      must(v !== undefined && /^([0-9a-f]{2})+$/.test(v), 'commitment', p.source + ' 没有有效的值');
      seedEntropy.push({ source: p.source, value: v });
      reveals.delete(p.source);
    }
  }
  must(reveals.size === 0, 'commitment', '计划外的随机源: ' + [...reveals.keys()].join(', '));
  step('commitment', true, seedEntropy.filter((e) => e.source.startsWith('department:')).map((e) => e.source).join('、') + ' 的揭示值均与承诺一致');

  if (v2) {
    for (const f of forfeited) must(plan.some((p) => p.source === f && f.startsWith('department:')), 'forfeit', f + ' 不是计划中的部门随机源');
    for (let i = 1; i < forfeited.length; i++) must(forfeited[i - 1] < forfeited[i], 'forfeit', '弃权名单未排序或有重复');
    must(forfeited.length === 0 || beaconPlan, 'forfeit', '没有公共信标时，所有部门都必须揭示；弃权: ' + forfeited.join('、'));
    if (forfeited.length) step('forfeit', true, forfeited.join('、') + ' 未在截止时间前揭示，按弃权处理；种子由已揭示的值和信标计算');
    must(!!beaconPlan === !!b.beacon, 'beacon', beaconPlan ? '计划中有信标，但核验包中没有' : '计划中没有信标，但核验包中有');
    if (beaconPlan) {
      const { round, signature } = b.beacon;
      must(round === beaconPlan.round, 'beacon', `信标轮次 ${round} 与计划中的 ${beaconPlan.round} 不符`);
      const t = QUICKNET.genesis + (round - 1) * QUICKNET.period;
      must(t > snap.reveal_deadline, 'beacon', `第 ${round} 轮产生于 ${iso(t)}，不晚于揭示截止时间 ${iso(snap.reveal_deadline)}`);
      must(/^[0-9a-f]{96}$/.test(signature), 'beacon', `第 ${round} 轮的签名格式不对`);
      const msg = new Uint8Array(8);
      new DataView(msg.buffer).setBigUint64(0, BigInt(round));
      const ss = bls12_381.shortSignatures;
      let ok = false;
      try { ok = ss.verify(fromHex(signature), ss.hash(await sha(msg), QUICKNET.dst), fromHex(QUICKNET.publicKey)); } catch (e) { ok = false; }
      must(ok, 'beacon', `第 ${round} 轮的签名不能用 quicknet 公钥验证通过`);
      const value = await shaHex(fromHex(signature));
      seedEntropy.push({ source: QUICKNET.source, value });
      step('beacon', true, `drand quicknet 第 ${round} 轮（${iso(t)}，晚于揭示截止 ${iso(snap.reveal_deadline)}）签名有效，随机值 ${value}`);
    }
  }

  seedEntropy.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  const seedDoc = v2
    ? { spec: 'suiji-draw/2', pool_hash: poolHash, entropy: seedEntropy, forfeited }
    : { spec: 'suiji-draw/1', pool_hash: poolHash, entropy: seedEntropy };
  const seed = await sha(utf8.encode(canon(seedDoc)));
  must(toHex(seed) === result.seed, 'seed', `应为 ${toHex(seed)}，核验包中为 ${result.seed}`);
  step('seed', true, toHex(seed));

  // Institutions (spec §5–6).
  const chosen = [];
  const perStratum = [];
  const tree = v2 && isTree(snap);
  must(tree === (b.members !== undefined && b.members !== null), 'bundle',
    tree ? '快照为树形式（B.18），但核验包中没有 members' : '核验包中有 members，但快照不是树形式的记录抽样');
  if (tree) {
    const { out, summary } = await drawTrees(seed, snap, b.members);
    for (const x of out) chosen.push(x);
    perStratum.push(summary);
  }
  for (const [si, s] of tree ? [] : snap.strata.entries()) {
    // A stratum of records may carry a per-value cap (B.15) and groups (B.16).
    const rs = snap.records && snap.records.strata ? snap.records.strata[si] : null;
    const picked = await drawStratum(seed, s, rs);
    for (const m of picked) chosen.push({ s, m });
    perStratum.push(`${s.id}: ${s.members.length} 家抽 ${picked.length} 家`);
  }
  const sels = result.selections;
  for (let i = 0; i < Math.max(chosen.length, sels.length); i++) {
    const e = chosen[i], f = sels[i];
    must(e && f, 'selection', `应抽中 ${chosen.length} 家，核验包中为 ${sels.length} 家`);
    must(f.order === i + 1 && f.stratum === e.s.id && f.institution === e.m.id, 'selection',
      `第 ${i + 1} 个：应为 ${e.m.id}（${e.s.id}），核验包中为 ${f.institution}（${f.stratum}）`);
  }
  step('selection', true, perStratum.join('；'));

  // Teams (spec §7).
  const depts = snap.departments;
  const loads = new Map();
  const total = chosen.length;
  const caps = depts.map((d) => snap.max_assignments_per_inspector !== null ? snap.max_assignments_per_inspector
    : Math.ceil((total * d.team_size) / d.inspectors.length));
  const eligible = (d, m) => {
    const c = conflictsOf(m.id, d.code);
    return d.inspectors.filter((i) => !(c && c.has(i.id)) && !(snap.cross_region && i.region !== null && i.region === m.region));
  };
  const keys = await Promise.all(chosen.flatMap(({ m }) => depts.map((d) => derive(seed, 'team', [m.id, d.code]))));
  const teams = [];
  for (let x = 0; x < chosen.length; x++) {
    const { m } = chosen[x];
    if (v2 && depts.length) must(conflictsOf(m.id) !== undefined || b.conflicts.full, 'conflicts', '缺少抽中机构 ' + m.id + ' 的回避证明');
    const team = [];
    depts.forEach((d, di) => {
      const E = eligible(d, m);
      const U = E.filter((i) => (loads.get(i.id) || 0) < caps[di]);
      const C = U.length >= d.team_size ? U : E;
      must(C.length >= d.team_size, 'team', `${m.id} 在 ${d.code} 中可用人员不足`);
      const t = pick(new Stream(keys[x * depts.length + di]), C, d.team_size).map((i) => i.id);
      for (const i of t) loads.set(i, (loads.get(i) || 0) + 1);
      team.push({ department: d.code, inspectors: t });
    });
    teams.push(team);
  }
  // Team size ranges (spec B.14): extra members level by level, in an order drawn from the seed.
  let extras = 0;
  const ranged = v2 && depts.some((d) => d.team_size_max !== undefined && d.team_size_max > d.team_size);
  if (ranged && chosen.length) {
    const order = pick(new Stream(await derive(seed, 'team-extra-order', [])), chosen.map((_, x) => x), chosen.length);
    for (let di = 0; di < depts.length; di++) {
      const d = depts[di];
      if (d.team_size_max === undefined || d.team_size_max <= d.team_size || !d.inspectors.length) continue;
      const xcap = snap.max_assignments_per_inspector !== null ? snap.max_assignments_per_inspector
        : Math.ceil((total * d.team_size_max) / d.inspectors.length);
      for (let p = d.team_size + 1; p <= d.team_size_max; p++) {
        for (const x of order) {
          const T = teams[x][di].inspectors;
          if (T.length !== p - 1) continue;
          const E = eligible(d, chosen[x].m).filter((i) => !T.includes(i.id) && (loads.get(i.id) || 0) < xcap);
          if (!E.length) continue;
          const i = pick(new Stream(await derive(seed, 'team-extra', [chosen[x].m.id, d.code, String(p)])), E, 1)[0].id;
          T.push(i);
          loads.set(i, (loads.get(i) || 0) + 1);
          extras++;
        }
      }
    }
  }
  for (let x = 0; x < chosen.length; x++) {
    const { m } = chosen[x];
    const team = teams[x];
    const lead = depts.length ? team.find((t) => t.department === snap.lead_department).inspectors[0] : null;
    const f = sels[x];
    must(canon(f.team) === canon(team), 'team', `第 ${x + 1} 个（${m.id}）：检查组应为 ${canon(team)}，核验包中为 ${canon(f.team)}`);
    must(f.leader === lead, 'team', `第 ${x + 1} 个（${m.id}）：组长应为 ${lead}，核验包中为 ${f.leader}`);
  }
  step('team', true, depts.length ? `${chosen.length} 个检查组全部一致${ranged ? `（含按人数范围增派的 ${extras} 人）` : ''}` : '本次抽取不组队（没有部门），组长为空');

  const mine = { spec: b.spec, pool_hash: poolHash, seed: toHex(seed), selections: sels };
  const rh = await canonHash(mine);
  must(canon(mine) === canon(result), 'result_hash', '结果与重算的抽取不一致');
  must(rh === b.result_hash, 'result_hash', `应为 ${rh}，核验包中为 ${b.result_hash}`);
  step('result_hash', true, rh);

  // Replacements (spec §8, and the chain of part B).
  const repl = b.replacements;
  const cur = new Map();
  chosen.forEach(({ m }, x) => teams[x].forEach((t) => cur.set(m.id + '\0' + t.department, t.inspectors.slice())));
  const members = new Map(chosen.map(({ m }) => [m.id, m]));
  const gone = new Map();
  let prev = rh;
  for (let n = 0; n < repl.length; n++) {
    const r = repl[n];
    const label = `第 ${n + 1} 条递补记录`;
    must(r.seq === n + 1, 'replacement', `${label}：序号为 ${r.seq}，应为 ${n + 1}（记录缺失或顺序被改）`);
    if (v2) {
      must(r.prev === prev, 'replacement', `${label}（seq ${r.seq}）：prev 应为 ${prev}，链条断裂`);
      const { hash, ...body } = r;
      const h = await canonHash(body);
      must(hash === h, 'replacement', `${label}（seq ${r.seq}）：记录内容哈希为 ${h}，记录中为 ${hash}（内容被改动）`);
      prev = h;
    }
    const d = depts.find((d) => d.code === r.department);
    const x = members.get(r.institution);
    must(d && x, 'replacement', `${label}：机构或部门不在抽取结果中`);
    const key = x.id + '\0' + d.code;
    const T = cur.get(key);
    must(T.includes(r.out), 'replacement', `${label}：${r.out} 不在当前检查组中`);
    if (!gone.has(key)) gone.set(key, new Set());
    gone.get(key).add(r.out);
    const di = depts.indexOf(d);
    const E = eligible(d, x).filter((i) => !gone.get(key).has(i.id) && !T.includes(i.id));
    const U = E.filter((i) => (loads.get(i.id) || 0) < caps[di]);
    const C = U.length ? U : E;
    must(C.length > 0, 'replacement', `${label}：没有可递补的人员`);
    const inn = pick(new Stream(await derive(seed, 'replace', [x.id, d.code, String(r.seq)])), C, 1)[0].id;
    must(inn === r.in, 'replacement', `${label}（seq ${r.seq}）：递补人员应为 ${inn}，记录中为 ${r.in}`);
    T[T.indexOf(r.out)] = inn;
    loads.set(r.out, (loads.get(r.out) || 0) - 1);
    loads.set(inn, (loads.get(inn) || 0) + 1);
  }
  if (v2) must(b.replacements_head === prev, 'replacement', `链头应为 ${prev}（${repl.length} 条记录），核验包中为 ${b.replacements_head}：有记录被删除或增加`);
  step('replacement', true, repl.length ? `${repl.length} 条递补记录全部一致${v2 ? '，链头 ' + prev : ''}` : '没有递补记录');

  if (v2 && snap.exclusions.length) {
    for (const e of snap.exclusions) {
      const p = previous.find((p) => p.snapshot.task_id === e.task && p.result_hash === e.result_hash);
      if (!p) { step('exclusion', null, `前轮任务 ${e.task} 的核验包未提供，无法核对排除名单`); continue; }
      try { await verifyBundle(p); } catch (err) { throw new Failed('exclusion', `前轮任务 ${e.task} 的核验包不一致: ${err.message}`); }
      const drawn = p.result.selections.map((s) => s.institution).sort();
      if (e.basis) {
        const extra = e.institutions.filter((x) => !drawn.includes(x));
        must(e.basis === 'yearly_cap' && e.institutions.length > 0 && extra.length === 0, 'exclusion', `年度上限排除名单中有前轮任务 ${e.task} 未抽中的机构：${extra.join('、') || e.basis}`);
        step('exclusion', true, `${e.institutions.length} 家机构已达年度抽查上限，前轮任务 ${e.task} 确曾抽中`);
        continue;
      }
      must(canon(drawn) === canon(e.institutions), 'exclusion', `排除名单与前轮任务 ${e.task} 实际抽中的机构不一致（缺 ${drawn.filter((x) => !e.institutions.includes(x)).join('、') || '无'}）`);
      step('exclusion', true, `前轮任务 ${e.task} 抽中的 ${drawn.length} 家机构已排除`);
    }
  }
  return { poolHash, seed: toHex(seed), resultHash: rh, selections: sels.length, replacements: repl.length, trust: trust(b) };
}

function checkSnapshot(snap, v2) {
  const must = (c, m) => { if (!c) throw new Failed('snapshot', m); };
  const sorted = (arr, key, what) => { for (let i = 1; i < arr.length; i++) must(key(arr[i - 1]) < key(arr[i]), what + ' 未排序或有重复'); };
  sorted(snap.strata, (s) => s.id, '层');
  const seen = new Set();
  for (const s of snap.strata) {
    must(s.ratio.den >= 1, `层 ${s.id} 的比例分母为 0`);
    sorted(s.members, (m) => m.id, `层 ${s.id} 的机构`);
    for (const m of s.members) { must(!seen.has(m.id), `机构 ${m.id} 出现在两个层中`); seen.add(m.id); }
  }
  sorted(snap.departments, (d) => d.code, '部门');
  for (const d of snap.departments) {
    must(d.team_size >= 1, `部门 ${d.code} 的组员人数为 0`);
    if (v2 && d.team_size_max !== undefined) must(Number.isInteger(d.team_size_max) && d.team_size_max >= d.team_size && d.team_size_max <= 20, `部门 ${d.code} 的组员人数上限 ${d.team_size_max} 应在 ${d.team_size} 与 20 之间`);
    sorted(d.inspectors, (i) => i.id, `部门 ${d.code} 的人员`);
  }
  sorted(snap.entropy_plan, (e) => e.source, '随机源计划');
  must(snap.entropy_plan.length > 0, '随机源计划为空');
  if (snap.departments.length) must(snap.departments.some((d) => d.code === snap.lead_department), '牵头部门不在部门列表中');
  for (const e of snap.entropy_plan) {
    if (e.source.startsWith('department:')) must(/^[0-9a-f]{64}$/.test(e.commitment || ''), e.source + ' 的承诺格式不对');
    else must(e.source.startsWith('beacon:') && e.commitment === null, e.source + ' 不是有效的随机源');
  }
  if (!v2) return;
  if (!snap.departments.length) must(snap.lead_department === null, '没有部门时牵头部门必须为 null');
  must(/^[0-9a-f]{64}$/.test(snap.conflicts_root), 'conflicts_root 格式不对');
  for (const e of snap.entropy_plan) {
    if (e.source.startsWith('beacon:')) {
      must(e.source === QUICKNET.source && Number.isInteger(e.round) && e.round >= 1, e.source + ' 不是有效的 quicknet 信标');
      must(QUICKNET.genesis + (e.round - 1) * QUICKNET.period > snap.reveal_deadline, `信标第 ${e.round} 轮不晚于揭示截止时间`);
    } else must(e.round === null, e.source + ' 不应有轮次');
  }
  sorted(snap.exclusions, (e) => e.task, '排除名单');
  for (const e of snap.exclusions) for (const id of e.institutions) must(!seen.has(id), `机构 ${id} 既在抽取池中又在排除名单中`);
}

async function checkConflicts(b, pool) {
  const fail = (m) => { throw new Failed('conflicts', m); };
  const leafHash = (leaf) => sha(concat([new Uint8Array([0]), utf8.encode(canon({ institution: leaf.institution, inspectors: leaf.inspectors }))]));
  const node = (l, r) => sha(concat([new Uint8Array([1]), l, r]));
  const sortedIds = (l) => { for (let i = 1; i < l.inspectors.length; i++) if (!(l.inspectors[i - 1] < l.inspectors[i])) fail(`${l.institution} 的回避人员未排序或有重复`); };
  const root = b.snapshot.conflicts_root;
  const { full, proofs } = b.conflicts;
  const map = new Map();
  if (full && !proofs) {
    if (full.length !== pool.length) fail(`回避名单有 ${full.length} 条，池中有 ${pool.length} 家机构`);
    full.forEach((l, i) => { if (l.institution !== pool[i]) fail(`第 ${i} 条回避记录应为 ${pool[i]}，实为 ${l.institution}`); sortedIds(l); map.set(l.institution, new Set(l.inspectors)); });
    const mth = async (hs) => {
      if (hs.length === 0) return sha(new Uint8Array(0));
      if (hs.length === 1) return hs[0];
      let k = 1;
      while (k * 2 < hs.length) k *= 2;
      const [l, r] = await Promise.all([mth(hs.slice(0, k)), mth(hs.slice(k))]);
      return node(l, r);
    };
    const r = toHex(await mth(await Promise.all(full.map(leafHash))));
    if (r !== root) fail(`回避名单的根哈希为 ${r}，快照中为 ${root}`);
  } else if (proofs && !full) {
    for (let k = 0; k < proofs.length; k++) {
      const p = proofs[k];
      if (k > 0 && !(proofs[k - 1].index < p.index)) fail('证明未按位置排序或有重复');
      if (pool[p.index] !== p.institution) fail(`${p.institution} 的证明位置 ${p.index} 不对`);
      sortedIds(p);
    }
    // Each proof independently (RFC 9162 §2.1.3.2); all of them at once, since WebCrypto
    // is asynchronous.
    const check = async (p) => {
      let fn = p.index, sn = pool.length - 1, r = await leafHash(p);
      for (const h of p.path) {
        if (sn === 0) return false;
        const s = fromHex(h);
        if (fn % 2 === 1 || fn === sn) {
          r = await node(s, r);
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        } else r = await node(r, s);
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
      }
      return sn === 0 && toHex(r) === root;
    };
    const ok = await Promise.all(proofs.map(check));
    const bad = ok.indexOf(false);
    if (bad >= 0) fail(`${proofs[bad].institution} 的回避证明不能导出快照中的根哈希（does not lead to the conflicts_root）`);
    for (const p of proofs) map.set(p.institution, new Set(p.inspectors));
  } else fail('conflicts.full 与 conflicts.proofs 必须恰好给出一个');
  return (id) => map.get(id);
}

function iso(t) { return new Date(t * 1000).toISOString().replace('.000Z', 'Z'); }

export function trust(b) {
  if (b.spec === 'suiji-draw/2' && b.beacon) return `本次抽取使用 drand quicknet 第 ${b.beacon.round} 轮公共随机信标，其签名已验证：只要该轮在揭示截止时间之后产生，任何一方都无法操纵结果。`;
  const n = b.entropy.filter((e) => e.source.startsWith('department:')).length;
  if (n === 0) return '本次抽取只使用了未经签名验证的信标值：其公正性取决于录入该值的人。';
  if (n === 1) return '本次抽取的公正性取决于一个部门的秘密：只要该部门在封存前未泄露、也未与他人串通，结果就无法被操纵。';
  return `本次抽取的公正性取决于 ${n} 个部门的秘密：其中任意一个部门诚实，结果就无法被操纵。`;
}

// ---- the page
function show(steps, name, ok, detail) {
  const li = document.createElement('li');
  li.dataset.step = name;
  li.dataset.status = ok === null ? 'skipped' : ok ? 'ok' : 'fail';
  const mark = document.createElement('span');
  mark.className = 'mark';
  mark.textContent = ok === null ? '—' : ok ? '✓ 通过' : '✗ 不通过';
  const title = document.createElement('strong');
  title.textContent = STEP_NAMES[name] || name;
  const p = document.createElement('div');
  p.className = 'detail';
  p.textContent = detail;
  li.append(mark, ' ', title, p);
  steps.append(li);
}

async function run(text, previousTexts, source) {
  const steps = document.getElementById('steps');
  const verdict = document.getElementById('verdict');
  steps.textContent = '';
  verdict.dataset.status = 'running';
  verdict.textContent = '正在核验 ' + source + ' …';
  const t0 = performance.now();
  try {
    let b;
    try { b = JSON.parse(text); } catch (e) { throw new Failed('bundle', '不是 JSON: ' + e.message); }
    const previous = previousTexts.map((t) => JSON.parse(t));
    const r = await verifyBundle(b, previous, (n, ok, d) => show(steps, n, ok, d));
    const ms = Math.round(performance.now() - t0);
    verdict.dataset.status = 'ok';
    verdict.dataset.step = '';
    verdict.dataset.ms = String(ms);
    verdict.textContent = `一致：核验包 ${source} 通过全部核验（${r.selections} 家机构，${r.replacements} 条递补，用时 ${ms} 毫秒）。`;
    document.getElementById('trust').textContent = r.trust;
  } catch (e) {
    const step = e instanceof Failed ? e.step : 'bundle';
    show(steps, step, false, e.message);
    verdict.dataset.status = 'fail';
    verdict.dataset.step = step;
    verdict.dataset.ms = String(Math.round(performance.now() - t0));
    verdict.textContent = `不一致：在“${STEP_NAMES[step] || step}”这一步失败：${e.message}`;
  }
}

async function fetchSameOrigin(u) {
  const url = new URL(u, location.href);
  if (url.origin !== location.origin) throw new Failed('bundle', '只读取本站的核验包: ' + url.href);
  const r = await fetch(url, { credentials: 'same-origin' });
  if (!r.ok) throw new Failed('bundle', `读取 ${url.pathname} 失败: HTTP ${r.status}`);
  return r.text();
}

async function main() {
  const params = new URLSearchParams(location.search);
  const file = document.getElementById('file');
  const prevFiles = document.getElementById('previous');
  const drop = document.getElementById('drop');
  const readAll = (files) => Promise.all([...files].map((f) => f.text()));
  file.addEventListener('change', async () => {
    if (file.files[0]) run(await file.files[0].text(), await readAll(prevFiles.files), file.files[0].name);
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) run(await f.text(), await readAll(prevFiles.files), f.name);
  });
  const u = params.get('bundle');
  if (u) {
    try {
      const prev = await Promise.all(params.getAll('previous').map(fetchSameOrigin));
      await run(await fetchSameOrigin(u), prev, u);
    } catch (e) {
      const verdict = document.getElementById('verdict');
      verdict.dataset.status = 'fail';
      verdict.dataset.step = 'bundle';
      verdict.textContent = '无法读取核验包：' + e.message;
    }
  }
}

if (typeof document !== 'undefined') main();
