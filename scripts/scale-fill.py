#!/usr/bin/env python3
"""Fills a running suiji (scripts/scale audit) to registry scale: I institutions and P
inspectors imported by the CLI, then T small drawn tasks through the API (each one seals a
pool of 60 pharmacies of 150603 and 12 medical-insurance inspectors), 4 at a time."""
import concurrent.futures, hashlib, json, os, subprocess, sys, time, urllib.request

base, token, I, P, T, binary, tmp = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]), sys.argv[6], sys.argv[7]
ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def code(p):
    s = sum(ALPHA.index(c) * w for c, w in zip(p, W))
    return p + ALPHA[(31 - s % 31) % 31]


t0 = time.time()
with open(f"{tmp}/inst.csv", "w") as f:
    f.write("credit_code,name,kind,level,ownership,region,address,risk_grade,status,tags\n")
    for n in range(I):
        region = "150603" if n < 60 else ["150602", "150621", "150622", "150624"][n % 4]
        f.write(f"{code('9115093%010d' % n)},药店{n},retail_pharmacy,none,private,{region},某某路{n}号,B,active,\n")
with open(f"{tmp}/insp.csv", "w") as f:
    f.write("department,name,certificate_no,region,status,expertise\n")
    for n in range(P):
        dept = "medical_insurance" if n < 12 else ["health", "market_regulation"][n % 2]
        f.write(f"{dept},检查员{n},ZS{n:08d},150603,active,\n")
for kind, path in [("institutions", "inst.csv"), ("inspectors", "insp.csv")]:
    subprocess.run([binary, "import", kind, f"{tmp}/{path}"], check=True, stdout=subprocess.DEVNULL)
print(f"registries imported in {time.time() - t0:.0f} s")


def call(method, path, body=None, who=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {who or token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


coord = subprocess.run([binary, "token", "--role", "coordinator", "--department", "medical_insurance", "--sub", "scale"],
                       check=True, capture_output=True, text=True).stdout.strip()


def task(n):
    secret = hashlib.sha256(f"secret {n}".encode()).digest()
    t = call("POST", "/api/v1/tasks", {
        "title": f"规模测试任务{n}", "year": 2023, "round": 1, "lead_department": "medical_insurance",
        "departments": [{"code": "medical_insurance", "team_size": 2}],
        "strata": [{"id": "pharmacies", "filter": {"kind": ["retail_pharmacy"], "region_prefix": ["150603"]},
                    "ratio": {"num": 5, "den": 100}, "min": 1, "max": None}],
        "cross_region": False, "max_assignments_per_inspector": None,
        "inspection_start": "2023-08-01", "inspection_end": "2023-08-31", "items": [],
        "entropy_plan": [{"source": "department:medical_insurance"}]}, coord)
    i = t["id"]
    call("POST", f"/api/v1/tasks/{i}/commitments",
         {"source": "department:medical_insurance", "commitment": hashlib.sha256(secret).hexdigest()}, coord)
    call("POST", f"/api/v1/tasks/{i}/seal", None, coord)
    call("POST", f"/api/v1/tasks/{i}/reveals", {"source": "department:medical_insurance", "value": secret.hex()}, coord)
    call("POST", f"/api/v1/tasks/{i}/draw", None, coord)


t0 = time.time()
with concurrent.futures.ThreadPoolExecutor(4) as ex:
    list(ex.map(task, range(T)))
print(f"{T} tasks drawn in {time.time() - t0:.0f} s")
