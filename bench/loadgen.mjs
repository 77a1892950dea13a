// Load generator for bench/ingest.py: Node's own http client (no npm package), one
// process apart from the servers, keep-alive connections. A Python asyncio client would
// spend more CPU than the server it measures on a 2-core machine.
//
// Reads a JSON plan from argv[2], prints one JSON result line on stdout.
// plan: {base, path, kind: "locations"|"sightings", users: [{token, home}], shops: [[lon,lat]],
//        beacons: [[uuid, major, minor]], mode: "closed"|"open"|"each", connections,
//        rate, duration_s, batch, hop, seed}
// A user's requests never overlap (closed: each connection owns its users; open: users
// in turn, far apart), so the presence lock is never contended, as with real phones.
import http from "node:http";
import { readFileSync } from "node:fs";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const url = new URL(plan.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: plan.connections });

let seed = plan.seed >>> 0 || 1;
function rand() {
  // xorshift32: the same walk for both servers in a run.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

const users = plan.users.map((u) => ({ token: u.token, home: u.home, beacon: u.beacon, last: 0 }));
let enters = 0;

function stamps(user, n) {
  // Strictly newer than the user's last fix, never ahead of the clock.
  const now = Date.now();
  const start = Math.max(now - n, user.last + 1);
  user.last = start + n - 1;
  return start;
}

function body(user) {
  if (plan.hop > 0 && rand() < plan.hop) {
    user.home = plan.shops[Math.floor(rand() * plan.shops.length)];
    enters += 1;
  }
  const start = stamps(user, plan.batch);
  const items = [];
  for (let k = 0; k < plan.batch; k++) {
    const at = new Date(start + k).toISOString();
    if (plan.kind === "sightings") {
      const [uuid, major, minor] = user.beacon;
      items.push(`{"ibeacon":{"uuid":"${uuid}","major":${major},"minor":${minor}},` +
        `"rssi":${-55 - Math.floor(rand() * 10)},"recorded_at":"${at}"}`);
    } else {
      const lon = user.home[0] + (rand() - 0.5) * 0.00002;
      const lat = user.home[1] + (rand() - 0.5) * 0.00002;
      items.push(`{"lat":${lat},"lon":${lon},"accuracy_m":10,"recorded_at":"${at}"}`);
    }
  }
  return `{"${plan.kind === "sightings" ? "sightings" : "fixes"}":[${items.join(",")}]}`;
}

const latencies = [];
const statuses = {};
let errors = 0;
let sample = null;

function send(user, scheduled) {
  return new Promise((resolve) => {
    const payload = body(user);
    const t0 = scheduled ?? performance.now();
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: plan.path, method: "POST", agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          authorization: `Bearer ${user.token}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          latencies.push(performance.now() - t0);
          statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
          if (res.statusCode !== 200 && sample === null) sample = Buffer.concat(chunks).toString();
          resolve();
        });
      },
    );
    req.on("error", (e) => { errors += 1; if (sample === null) sample = String(e); resolve(); });
    req.end(payload);
  });
}

async function closed(deadline) {
  const c = plan.connections;
  const loops = [];
  for (let i = 0; i < c; i++) {
    const mine = users.filter((_, j) => j % c === i);
    loops.push((async () => {
      for (let k = 0; performance.now() < deadline; k++) await send(mine[k % mine.length]);
    })());
  }
  await Promise.all(loops);
}

async function each() {
  const c = plan.connections;
  const loops = [];
  for (let i = 0; i < c; i++) {
    const mine = users.filter((_, j) => j % c === i);
    loops.push((async () => { for (const u of mine) await send(u); })());
  }
  await Promise.all(loops);
}

async function open(start, deadline) {
  // Open loop: request k is due at start + k/rate whatever the server does; latency counts
  // from that due time, so a stalled server is not hidden (no coordinated omission).
  const pending = [];
  let k = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      while (start + (k * 1000) / plan.rate <= now) {
        const due = start + (k * 1000) / plan.rate;
        if (due >= deadline) { clearInterval(timer); resolve(); return; }
        pending.push(send(users[k % users.length], due));
        k += 1;
      }
    }, 1);
  });
  await Promise.all(pending);
}

const start = performance.now();
const deadline = start + plan.duration_s * 1000;
if (plan.mode === "closed") await closed(deadline);
else if (plan.mode === "open") await open(start, deadline);
else await each();
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN);
process.stdout.write(JSON.stringify({
  requests: latencies.length, errors, statuses, elapsed_s: elapsed, enters, sample,
  p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99), max_ms: latencies[latencies.length - 1],
}) + "\n");
agent.destroy();
