"""Fidelity tests: the real `kubectl` against the fixture API server.

Each test starts its own server (fresh state). Run with
    /work/main/.venv/bin/python -m pytest tests/support/kube_fixture -q
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl not on PATH")


class Fixture:
    def __init__(self, tmp_path, *args):
        self.kubeconfig = str(tmp_path / "kubeconfig.yaml")
        self.tmp = tmp_path
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--kubeconfig", self.kubeconfig, "--exit-on-stdin-eof", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.startup = time.monotonic() - t0
        assert line == self.kubeconfig + "\n", (line, self.proc.stderr.read() if self.proc.poll() else "")
        first = open(self.kubeconfig).readline()
        self.url = re.fullmatch(r"# fixture-server: (http://127\.0\.0\.1:\d+)\n", first).group(1)

    def kubectl(self, *args, check=True, input=None):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=str(self.tmp))  # HOME: own discovery cache
        r = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, input=input, timeout=60)
        if check:
            assert r.returncode == 0, f"kubectl {' '.join(args)}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        return r

    def http(self, method, path, body=None, ctype="application/json", accept="application/json"):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": ctype, "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, body=None, **kw):
        code, _, raw = self.http(method, path, body, **kw)
        return code, json.loads(raw)

    def state(self):
        return self.json("GET", "/_fixture/state")[1]

    def obj(self, gvr, key):
        return self.state()["objects"].get(gvr, {}).get(key)

    def requests(self):
        return self.json("GET", "/_fixture/requests")[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # --exit-on-stdin-eof
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def start(tmp_path):
    started = []

    def _start(*args):
        f = Fixture(tmp_path, *args)
        started.append(f)
        return f

    yield _start
    for f in started:
        f.stop()


@pytest.fixture
def srv(start):
    return start()


MP, CP = "install.tetrate.io/v1alpha1/managementplanes", "install.tetrate.io/v1alpha1/controlplanes"
SECRETS, DEPLOYS = "v1/secrets", "apps/v1/deployments"


def write_pems(tmp_path):
    files = {}
    for name in ("ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"):
        p = tmp_path / name
        p.write_text(f"-----BEGIN CERTIFICATE-----\n{base64.b64encode(name.encode()).decode()}\n"
                     "-----END CERTIFICATE-----\n")
        files[name] = p
    return files


# ---------------------------------------------------------------- the guide's commands

def test_guide_managementplane_patch_without_name_is_rejected_by_kubectl(srv):
    before = srv.state()
    r = srv.kubectl("patch", "managementplane", "-n", "tse", "--patch",
                    '{"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}', "--type", "merge", check=False)
    assert r.returncode != 0
    assert "resource(s) were provided, but no name was specified" in r.stderr
    assert srv.state() == before


def test_guide_managementplane_patch_named_removes_the_key(srv):
    mp0 = srv.obj(MP, "tse/managementplane")
    assert mp0["spec"]["certIssuer"]["clusterIntermediateCAs"] == {}
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "--patch",
                    '{"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}', "--type", "merge")
    assert r.stdout.strip() == "managementplane.install.tetrate.io/managementplane patched"
    mp = srv.obj(MP, "tse/managementplane")
    assert "clusterIntermediateCAs" not in mp["spec"]["certIssuer"]
    assert mp["spec"]["certIssuer"] == {"selfSigned": {}, "tsbCerts": {}}  # siblings kept (RFC 7386)
    assert mp["spec"]["components"] == mp0["spec"]["components"]
    assert mp["metadata"]["generation"] == 2
    assert int(mp["metadata"]["resourceVersion"]) > int(mp0["metadata"]["resourceVersion"])
    rv = srv.state()["resourceVersion"]
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "--patch",
                    '{"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}', "--type", "merge")
    assert r.stdout.strip().endswith("patched (no change)")
    assert srv.state()["resourceVersion"] == rv  # a no-op patch writes nothing


def test_guide_controlplane_patch(srv):
    cp0 = srv.obj(CP, "istio-system/controlplane")
    r = srv.kubectl("patch", "ControlPlane", "controlplane", "-n", "istio-system", "--patch",
                    '{"spec":{"components":{"xcp":{"centralProvidedCaCert":false}}}}', "--type", "merge")
    assert r.stdout.strip() == "controlplane.install.tetrate.io/controlplane patched"
    cp = srv.obj(CP, "istio-system/controlplane")
    assert cp["spec"]["components"]["xcp"] == {"centralProvidedCaCert": False, "centralAuthMode": "JWT"}
    assert cp["spec"]["managementPlane"] == cp0["spec"]["managementPlane"]
    assert cp["metadata"]["generation"] == 2


def test_guide_delete_secret(srv):
    assert srv.obj(SECRETS, "istio-system/cacerts")
    r = srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system")
    assert r.stdout.strip() == 'secret "cacerts" deleted'
    assert srv.obj(SECRETS, "istio-system/cacerts") is None
    r = srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system", check=False)
    assert r.returncode == 1
    assert 'Error from server (NotFound): secrets "cacerts" not found' in r.stderr


def test_guide_create_secret(srv, tmp_path):
    files = write_pems(tmp_path)
    srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system")
    args = ["create", "secret", "generic", "cacerts", "-n", "istio-system"] + \
        [f"--from-file={k}={v}" for k, v in files.items()]
    r = srv.kubectl(*args)
    assert r.stdout.strip() == "secret/cacerts created"
    s = srv.obj(SECRETS, "istio-system/cacerts")
    assert s["type"] == "Opaque"
    assert {k: base64.b64decode(v) for k, v in s["data"].items()} == \
        {k: v.read_bytes() for k, v in files.items()}
    assert "labels" not in s["metadata"]
    # kubectl create sends protobuf; a second create is AlreadyExists
    assert any(r["contentType"] == "application/vnd.kubernetes.protobuf" for r in srv.requests())
    r = srv.kubectl(*args, check=False)
    assert r.returncode == 1
    assert 'secrets "cacerts" already exists' in r.stderr


def test_guide_rollout_restart_and_status(srv):
    d0 = srv.obj(DEPLOYS, "istio-system/istiod")
    r = srv.kubectl("-n", "istio-system", "rollout", "restart", "deployment", "-l=app=istiod")
    assert r.stdout.strip() == "deployment.apps/istiod restarted"
    d = srv.obj(DEPLOYS, "istio-system/istiod")
    ann = d["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in ann
    assert ann["prometheus.io/scrape"] == "true"  # strategic merge kept the other annotations
    assert d["metadata"]["generation"] == d0["metadata"]["generation"] + 1
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    r = srv.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod", "--timeout=10s")
    assert 'deployment "istiod" successfully rolled out' in r.stdout
    # the selector touched nothing else
    for key in ("istio-system/istio-ingressgateway", "bookinfo/productpage", "default/plain"):
        tmpl = srv.obj(DEPLOYS, key)["spec"]["template"]["metadata"]
        assert "kubectl.kubernetes.io/restartedAt" not in (tmpl.get("annotations") or {})
    stable = srv.json("GET", "/_fixture/state?volatile=0")[1]["objects"][DEPLOYS]["istio-system/istiod"]
    assert stable["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == "<set>"
    assert "uid" not in stable["metadata"] and "resourceVersion" not in stable["metadata"]
    patches = [q for q in srv.requests() if q["method"] == "PATCH"]
    assert [q["contentType"] for q in patches] == ["application/strategic-merge-patch+json"]


def test_rollout_status_waits_for_the_rollout(start):
    srv = start("--rollout-delay", "1.5")
    srv.kubectl("-n", "istio-system", "rollout", "restart", "deployment", "-l", "app=istiod")
    d = srv.obj(DEPLOYS, "istio-system/istiod")
    assert d["status"]["observedGeneration"] < d["metadata"]["generation"]
    t0 = time.monotonic()
    r = srv.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod", "--timeout=10s")
    assert time.monotonic() - t0 > 0.5
    assert "Waiting for deployment spec update to be observed" in r.stdout
    assert 'deployment "istiod" successfully rolled out' in r.stdout
    srv.kubectl("-n", "bookinfo", "rollout", "restart", "statefulset", "mysqldb")
    r = srv.kubectl("-n", "bookinfo", "rollout", "status", "statefulset/mysqldb", "--timeout=1s", check=False)
    assert r.returncode != 0 and "timed out waiting for the condition" in r.stderr
    r = srv.kubectl("-n", "bookinfo", "rollout", "status", "statefulset/mysqldb", "--timeout=10s")
    assert "roll out complete" in r.stdout


# ---------------------------------------------------------------- more kubectl

def test_get_secret_json_holds_a_real_ca(srv, tmp_path):
    r = srv.kubectl("get", "secret", "cacerts", "-n", "istio-system", "-o", "json")
    s = json.loads(r.stdout)
    assert s["kind"] == "Secret" and s["apiVersion"] == "v1" and s["type"] == "Opaque"
    assert s["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "tsb"}
    assert sorted(s["data"]) == ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]
    for k, v in s["data"].items():
        (tmp_path / k).write_bytes(base64.b64decode(v))
    chain = (tmp_path / "cert-chain.pem").read_bytes()
    assert chain == (tmp_path / "ca-cert.pem").read_bytes() + (tmp_path / "root-cert.pem").read_bytes()
    v = subprocess.run(["openssl", "verify", "-CAfile", tmp_path / "root-cert.pem", tmp_path / "ca-cert.pem"],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    t = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", tmp_path / "ca-cert.pem"],
                       capture_output=True, text=True).stdout
    assert "CA:TRUE, pathlen:0" in t
    pub1 = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", tmp_path / "ca-cert.pem"],
                          capture_output=True).stdout
    pub2 = subprocess.run(["openssl", "pkey", "-pubout", "-in", tmp_path / "ca-key.pem"], capture_output=True).stdout
    assert pub1 == pub2


def test_server_side_apply(srv, tmp_path):
    m = tmp_path / "manifest.json"
    doc = {"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "applied", "namespace": "istio-system", "labels": {"a": "b"}},
           "stringData": {"k1": "v1", "k2": "v2"}}
    m.write_text(json.dumps(doc))
    r = srv.kubectl("apply", "--server-side", "-f", str(m))
    assert r.stdout.strip() == "secret/applied serverside-applied"
    s = srv.obj(SECRETS, "istio-system/applied")
    assert s["data"] == {"k1": "djE=", "k2": "djI="} and "stringData" not in s  # folded into data
    mf = s["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in mf] == [("kubectl", "Apply")]
    # re-applying without k2 removes what this manager applied before
    doc["stringData"] = {"k1": "v1"}
    m.write_text(json.dumps(doc))
    srv.kubectl("apply", "--server-side", "-f", str(m))
    assert srv.obj(SECRETS, "istio-system/applied")["data"] == {"k1": "djE="}
    # a field owned by another manager with a different value conflicts unless forced
    srv.kubectl("create", "secret", "generic", "other", "-n", "istio-system", "--from-literal=k=old")
    m.write_text(json.dumps({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": "other", "namespace": "istio-system"},
                             "stringData": {"k": "new"}}))
    r = srv.kubectl("apply", "--server-side", "-f", str(m), check=False)
    assert r.returncode != 0
    assert 'conflict with "kubectl-create"' in r.stderr and ".data.k" in r.stderr
    assert srv.obj(SECRETS, "istio-system/other")["data"] == {"k": "b2xk"}
    srv.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(m))
    assert srv.obj(SECRETS, "istio-system/other")["data"] == {"k": "bmV3"}


def test_client_side_apply(srv, tmp_path):
    m = tmp_path / "manifest.yaml"
    m.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: csa\n  namespace: istio-system\n"
                 "data:\n  k1: djE=\n")
    r = srv.kubectl("apply", "-f", str(m))
    assert r.stdout.strip() == "secret/csa created"
    m.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: csa\n  namespace: istio-system\n"
                 "data:\n  k2: djI=\n")
    r = srv.kubectl("apply", "-f", str(m))
    assert r.stdout.strip() == "secret/csa configured"
    s = srv.obj(SECRETS, "istio-system/csa")
    assert s["data"] == {"k2": "djI="}
    assert "kubectl.kubernetes.io/last-applied-configuration" in s["metadata"]["annotations"]


def test_server_dry_run_changes_nothing(srv, tmp_path):
    files = write_pems(tmp_path)
    srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system")
    before = srv.state()
    r = srv.kubectl("create", "secret", "generic", "cacerts", "-n", "istio-system", "--dry-run=server",
                    *[f"--from-file={k}={v}" for k, v in files.items()])
    assert r.stdout.strip() == "secret/cacerts created (server dry run)"
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "--type", "merge",
                    "--dry-run=server", "-p", '{"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}')
    assert r.stdout.strip().startswith("managementplane.install.tetrate.io/managementplane patched")
    r = srv.kubectl("delete", "deployment", "plain", "-n", "default", "--dry-run=server")
    assert r.stdout.strip() == 'deployment.apps "plain" deleted (server dry run)'
    srv.kubectl("annotate", "deployment", "istiod", "-n", "istio-system", "a=b", "--dry-run=server")
    assert srv.state() == before
    writes = [q for q in srv.requests() if q["method"] != "GET"][1:]  # after the real delete
    assert len(writes) == 4  # kubectl delete puts dryRun in the DeleteOptions body, the others in the query
    assert all(q["query"].get("dryRun") == "All" for q in writes if q["method"] != "DELETE")


def test_denied_verb(start):
    srv = start("--deny", "delete:secrets")
    before = srv.state()
    r = srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == ('Error from server (Forbidden): secrets "cacerts" is forbidden: User "fixture" '
                                'cannot delete resource "secrets" in API group "" in the namespace "istio-system"')
    assert srv.state() == before
    # deny at run time through the control endpoint, then clear
    srv.json("POST", "/_fixture/deny", {"verb": "patch", "resource": "managementplanes"})
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "--type", "merge",
                    "-p", '{"spec":{"hub":"x"}}', check=False)
    assert ('managementplanes.install.tetrate.io "managementplane" is forbidden: User "fixture" cannot patch '
            'resource "managementplanes" in API group "install.tetrate.io" in the namespace "tse"') in r.stderr
    srv.http("DELETE", "/_fixture/deny")
    srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system")


def test_no_crds(start):
    srv = start("--seed", "no-crds")
    r = srv.kubectl("get", "managementplane", "-n", "tse", check=False)
    assert r.returncode == 1
    assert 'error: the server doesn\'t have a resource type "managementplane"' in r.stderr
    code, headers, body = srv.http("GET", "/apis/install.tetrate.io/v1alpha1/namespaces/tse/managementplanes/x")
    assert (code, body) == (404, b"404 page not found\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert MP not in srv.state()["objects"]
    srv.kubectl("get", "secret", "cacerts", "-n", "istio-system")


def test_strategic_merge_patch_on_custom_resource_is_415(srv):
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "-p", '{"spec":{"hub":"x"}}',
                    check=False)
    assert r.returncode == 1
    assert "the body of the request was in an unknown format - accepted media types include: " \
           "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" in r.stderr
    r = srv.kubectl("patch", "managementplane", "managementplane", "-n", "tse", "--type", "json",
                    "-p", '[{"op":"replace","path":"/spec/hub","value":"x"}]')
    assert srv.obj(MP, "tse/managementplane")["spec"]["hub"] == "x"


def test_discovery_aggregated_and_legacy(srv):
    r = srv.kubectl("api-resources", "--api-group=install.tetrate.io")
    rows = [ln.split() for ln in r.stdout.splitlines()[1:]]
    assert rows == [["controlplanes", "install.tetrate.io/v1alpha1", "true", "ControlPlane"],
                    ["managementplanes", "install.tetrate.io/v1alpha1", "true", "ManagementPlane"]]
    paths = {q["path"] for q in srv.requests()}
    assert paths <= {"/api", "/apis", "/version"}  # kubectl took the aggregated documents
    code, legacy = srv.json("GET", "/apis/install.tetrate.io/v1alpha1")
    assert code == 200 and legacy["groupVersion"] == "install.tetrate.io/v1alpha1"
    assert {(x["name"], x["kind"], x["namespaced"]) for x in legacy["resources"] if "/" not in x["name"]} == \
        {("managementplanes", "ManagementPlane", True), ("controlplanes", "ControlPlane", True)}
    code, groups = srv.json("GET", "/apis")
    assert groups["kind"] == "APIGroupList"
    code, hdrs, body = srv.http("GET", "/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;"
                                                        "as=APIGroupDiscoveryList,application/json")
    assert hdrs["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert json.loads(body)["kind"] == "APIGroupDiscoveryList"


def test_label_selectors(srv):
    def names(sel):
        return srv.kubectl("get", "deploy", "-A", "-l", sel, "-o", "name").stdout.split()
    assert names("app=istiod") == ["deployment.apps/istiod"]
    assert sorted(names("app in (istiod,productpage)")) == ["deployment.apps/istiod", "deployment.apps/productpage"]
    assert names("istio,app!=istiod") == ["deployment.apps/istio-ingressgateway"]
    assert "deployment.apps/plain" in names("!istio")


def test_wrong_context_is_refused(srv):
    r = srv.kubectl("--context", "other", "get", "ns", check=False)
    assert r.returncode == 1 and "connection refused" in r.stderr
    assert srv.kubectl("config", "current-context").stdout.strip() == "fixture"


def test_error_bodies(srv):
    code, st = srv.json("GET", "/api/v1/namespaces/istio-system/secrets/nope")
    assert (code, st) == (404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": 'secrets "nope" not found', "reason": "NotFound",
                                "details": {"name": "nope", "kind": "secrets"}, "code": 404})
    code, st = srv.json("GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    assert st["message"] == 'deployments.apps "nope" not found' and st["details"]["group"] == "apps"
    code, st = srv.json("POST", "/api/v1/namespaces/default/secrets",
                        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "Bad_Name"}})
    assert code == 422 and st["reason"] == "Invalid" and st["details"]["causes"][0]["field"] == "metadata.name"
    code, st = srv.json("POST", "/api/v1/namespaces/default/secrets", b"{not json")
    assert code == 400 and st["reason"] == "BadRequest"
    code, st = srv.json("PATCH", "/api/v1/namespaces/istio-system/secrets/cacerts", {"data": {}},
                        ctype="text/plain")
    assert code == 415 and st["reason"] == "UnsupportedMediaType"
    s = srv.json("GET", "/api/v1/namespaces/istio-system/secrets/cacerts")[1]
    stale = dict(s, metadata=dict(s["metadata"], resourceVersion="1"))
    code, st = srv.json("PUT", "/api/v1/namespaces/istio-system/secrets/cacerts", stale)
    assert code == 409 and st["reason"] == "Conflict" and "the object has been modified" in st["message"]
    code, st = srv.json("DELETE", "/api/v1/namespaces/istio-system/secrets/cacerts")
    assert code == 200 and st["status"] == "Success" and st["details"]["uid"] == s["metadata"]["uid"]
    code, st = srv.json("DELETE", "/apis/install.tetrate.io/v1alpha1/namespaces/tse/managementplanes/managementplane")
    assert code == 200 and st["kind"] == "ManagementPlane"  # custom resources return the object


def test_merge_patch_rfc7386_on_custom_resource(srv):
    path = "/apis/install.tetrate.io/v1alpha1/namespaces/tse/managementplanes/managementplane"
    code, mp = srv.json("PATCH", path, {"spec": {"components": {"xcp": None, "frontEnvoy": {"port": 8443}},
                                                 "list": [1, 2], "certIssuer": {"tsbCerts": None}}},
                        ctype="application/merge-patch+json")
    assert code == 200
    assert "xcp" not in mp["spec"]["components"] and mp["spec"]["components"]["frontEnvoy"] == {"port": 8443}
    assert mp["spec"]["certIssuer"] == {"clusterIntermediateCAs": {}, "selfSigned": {}}
    code, mp = srv.json("PATCH", path, {"spec": {"list": [3]}}, ctype="application/merge-patch+json")
    assert mp["spec"]["list"] == [3]  # arrays replace
    code, mp = srv.json("PATCH", path + "?dryRun=All", {"spec": {"hub": "dry"}}, ctype="application/merge-patch+json")
    assert mp["spec"]["hub"] == "dry" and srv.obj(MP, "tse/managementplane")["spec"]["hub"] != "dry"


def test_reset(srv):
    srv.kubectl("delete", "secret", "cacerts", "-n", "istio-system")
    srv.json("POST", "/_fixture/reset", {})
    assert srv.obj(SECRETS, "istio-system/cacerts")


# ---------------------------------------------------------------- start-up contract

def test_startup_is_fast(srv):
    assert srv.startup < 1.0


def test_stdout_protocol_without_kubeconfig_and_sigterm():
    p = subprocess.Popen([sys.executable, SERVER, "--seed", "empty"], stdout=subprocess.PIPE, text=True)
    lines = []
    while True:
        ln = p.stdout.readline()
        assert ln, "server ended before ---ready---"
        if ln == "---ready---\n":
            break
        lines.append(ln)
    kc = "".join(lines)
    assert "current-context: fixture" in kc
    url = re.search(r"server: (http://127\.0\.0\.1:\d+)", kc).group(1)
    with urllib.request.urlopen(url + "/api/v1/namespaces", timeout=5) as r:
        names = [n["metadata"]["name"] for n in json.load(r)["items"]]
    assert {"default", "istio-system", "tse", "bookinfo"} <= set(names)
    p.send_signal(signal.SIGTERM)
    assert p.wait(5) == 0
    p.stdout.close()


def test_exit_on_stdin_eof(tmp_path):
    f = Fixture(tmp_path)
    f.proc.stdin.close()
    assert f.proc.wait(5) == 0
    f.stop()
