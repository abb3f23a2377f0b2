#!/usr/bin/env python3
"""A small fixture Kubernetes API server for pca-mesh's tests.

It speaks enough of the real kube-apiserver's HTTP API, over plain HTTP on
127.0.0.1, for the real `kubectl` (1.32) and the Rust `kube` crate to run the
TSE / AWS PCA guide's commands against it:

* discovery: /version, /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>, both the
  legacy documents and aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1,
  chosen by the Accept header, as the real server does);
* a minimal /openapi/v3 (index + one document per group-version holding only the
  PATCH operations' query parameters) so kubectl detects server-side field
  validation instead of falling back to client-side validation; /openapi/v2 is 404;
* Secrets, Namespaces, Pods (core/v1), Deployments, StatefulSets, DaemonSets
  (apps/v1), and the TSE custom resources ManagementPlane and ControlPlane
  (install.tetrate.io/v1alpha1): get, list (label and field selectors), watch,
  create, replace, delete, deletecollection, JSON patch, JSON merge patch,
  strategic merge patch (refused with 415 on custom resources, as the real server
  does), server-side apply, `dryRun=All`;
* the real server's error shapes: `Status` bodies with the same reasons, codes,
  messages and details, and the plain-text `404 page not found` for unregistered
  paths.

Only the Python standard library is needed (PyYAML, if importable, is used to
parse server-side-apply bodies that are YAML rather than JSON; kubectl and kube-rs
send JSON). Seeded certificates are made with the `openssl` CLI.

Start-up contract (see README.md): with `--kubeconfig FILE` the server writes the
kubeconfig to FILE and prints exactly one line, FILE's absolute path, when ready.
Without it, it prints the kubeconfig YAML followed by a line `---ready---`.
Either way the kubeconfig's first line is `# fixture-server: http://127.0.0.1:PORT`.
It stops on SIGTERM/SIGINT, or on stdin EOF with `--exit-on-stdin-eof`.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import json
import os
import re
import secrets as pysecrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:  # optional: only for YAML (not JSON) server-side-apply bodies
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

USER = "fixture"
VERSION_INFO = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0+fixture",
    "gitCommit": "0" * 40, "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.4",
    "compiler": "gc", "platform": "linux/amd64",
}
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]
TSE_GROUP, TSE_VERSION = "install.tetrate.io", "v1alpha1"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- resource types

class Res:
    """One registered resource type, with what discovery says about it."""

    def __init__(self, group, version, plural, kind, namespaced=True, short=(), categories=(),
                 crd=False, generation=False, return_deleted=False, known_fields=None):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.categories = namespaced, list(short), list(categories)
        self.crd, self.generation, self.known_fields = crd, generation, known_fields
        # The generic registry answers DELETE with a Status unless the type sets
        # ReturnDeletedObject (pods, namespaces and every custom resource do).
        self.return_deleted = return_deleted or crd
        self.singular = kind.lower()

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):  # "secrets", "deployments.apps": used in NotFound/Forbidden messages
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self):  # "Secret", "Deployment.apps": used in Invalid messages
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def details(self, name):
        d = {"name": name}
        if self.group:
            d["group"] = self.group
        d["kind"] = self.plural  # the real server puts the resource in details.kind
        return d


TYPED = {"apiVersion", "kind", "metadata", "spec", "status"}
RESOURCES = [
    Res("", "v1", "namespaces", "Namespace", namespaced=False, short=["ns"], return_deleted=True,
        known_fields={"apiVersion", "kind", "metadata", "spec", "status"}),
    Res("", "v1", "pods", "Pod", short=["po"], categories=["all"], return_deleted=True,
        known_fields=TYPED),
    Res("", "v1", "secrets", "Secret",
        known_fields={"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}),
    Res("apps", "v1", "daemonsets", "DaemonSet", short=["ds"], categories=["all"],
        generation=True, known_fields=TYPED),
    Res("apps", "v1", "deployments", "Deployment", short=["deploy"], categories=["all"],
        generation=True, known_fields=TYPED),
    Res("apps", "v1", "statefulsets", "StatefulSet", short=["sts"], categories=["all"],
        generation=True, known_fields=TYPED),
    Res(TSE_GROUP, TSE_VERSION, "controlplanes", "ControlPlane", crd=True, generation=True),
    Res(TSE_GROUP, TSE_VERSION, "managementplanes", "ManagementPlane", crd=True, generation=True),
]
WORKLOADS = {"deployments", "statefulsets", "daemonsets"}


# --------------------------------------------------------------------------- errors

class ApiError(Exception):
    """An error answered as a metav1.Status body."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def body(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason}
        if self.details is not None:
            st["details"] = self.details
        st["code"] = self.code
        return st


class PageNotFound(Exception):
    """An unregistered path: the real server answers text/plain `404 page not found`."""


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', res.details(name))


def ns_not_found(ns):
    return ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', res.details(name))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"
NS_MISMATCH = "the namespace of the provided object does not match the namespace sent on the request"


def conflict(res, name, why=MODIFIED):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
                    res.details(name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(res, name, errs):
    """errs: [(field, causeReason, causeMessage)] -> 422 Invalid as field.ErrorList renders it."""
    causes = [{"reason": r, "message": m, "field": f} for f, r, m in errs]
    parts = [f"{f}: {m}" for f, _, m in errs]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.kind  # Invalid carries the Kind, not the resource
    d["causes"] = causes
    return ApiError(422, "Invalid", f'{res.group_kind} "{name}" is invalid: {joined}', d)


def unsupported_media(accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def forbidden(res, verb, ns, name):
    who = f'{res.qualified} "{name}"' if name else res.qualified
    where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    return ApiError(403, "Forbidden",
                    f'{who} is forbidden: User "{USER}" cannot {verb} resource "{res.plural}" '
                    f'in API group "{res.group}" {where}', res.details(name))


# --------------------------------------------------------------------------- selectors

LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


def split_terms(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [t.strip() for t in out if t.strip()]


def parse_label_selector(s):
    """Equality (=, ==, !=), set (in, notin) and existence (key, !key) requirements."""
    reqs = []
    for t in split_terms(s or ""):
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", t)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        elif "!=" in t:
            key, _, v = t.partition("!=")
            op, vals = "notin", {v.strip()}
        elif "==" in t or "=" in t:
            key, _, v = t.partition("==") if "==" in t else t.partition("=")
            op, vals = "in", {v.strip()}
        elif t.startswith("!"):
            key, op, vals = t[1:], "!", set()
        else:
            key, op, vals = t, "exists", set()
        key = key.strip()
        if not LABEL_KEY.match(key) or any(not LABEL_VALUE.match(v) for v in vals):
            raise bad_request(f"unable to parse requirement: invalid label selector term: {t!r}")
        reqs.append((key, op, vals))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        if op == "in" and labels.get(key) not in vals:
            return False
        if op == "notin" and key in labels and labels[key] in vals:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
    return True


def parse_field_selector(res, s):
    allowed = ["metadata.name", "metadata.namespace"] + (["type"] if res.plural == "secrets" else [])
    reqs = []
    for t in split_terms(s or ""):
        neg = "!=" in t
        f, _, v = t.partition("!=") if neg else (t.partition("==") if "==" in t else t.partition("="))
        f = f.strip()
        if f not in allowed:
            raise bad_request(f'"{f}" is not a known field selector: only "' + '", "'.join(allowed) + '"')
        reqs.append((f, neg, v.strip()))
    return reqs


def fields_match(reqs, obj):
    for f, neg, v in reqs:
        cur = obj
        for part in f.split("."):
            cur = cur.get(part, "") if isinstance(cur, dict) else ""
        if (cur == v) == neg:
            return False
    return True


# --------------------------------------------------------------------------- patches

def merge_patch(target, patch):
    """RFC 7386: null deletes, objects merge recursively, anything else (arrays too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# patchMergeKey of the list fields that matter in pod templates (k8s.io/api struct tags)
SMP_MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
                  "volumes": "name", "env": "name", "volumeMounts": "mountPath", "ports": "containerPort",
                  "imagePullSecrets": "name", "conditions": "type", "hostAliases": "ip"}


def strategic_merge(target, patch):
    """Strategic merge patch for built-in types: a merge patch whose lists with a
    patchMergeKey merge item by item; `$patch`, `$retainKeys` honoured, the
    `$setElementOrder/` and `$deleteFromPrimitiveList/` directives ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, list) and k in SMP_MERGE_KEYS and isinstance(result.get(k), list):
            mk, items = SMP_MERGE_KEYS[k], copy.deepcopy(result[k])
            for item in v:
                if not isinstance(item, dict) or mk not in item:
                    items = copy.deepcopy(v)
                    break
                idx = next((i for i, cur in enumerate(items)
                            if isinstance(cur, dict) and cur.get(mk) == item[mk]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        items.pop(idx)
                elif idx is None:
                    items.append(strategic_merge({}, item))
                else:
                    items[idx] = strategic_merge(items[idx], item)
            result[k] = items
        else:
            merged = strategic_merge(result.get(k), v)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
    if isinstance(patch.get("$retainKeys"), list):
        result = {k: v for k, v in result.items() if k in patch["$retainKeys"]}
    return result


def json_pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    """RFC 6902 add/remove/replace/move/copy/test."""
    doc = copy.deepcopy(doc)

    def parent(parts):
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def get(parts):
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def remove(parts):
        par = parent(parts)
        if isinstance(par, list):
            return par.pop(int(parts[-1]))
        return par.pop(parts[-1])

    def add(parts, value):
        par = parent(parts)
        if isinstance(par, list):
            par.insert(len(par) if parts[-1] == "-" else int(parts[-1]), value)
        else:
            par[parts[-1]] = value

    if not isinstance(ops, list):
        raise ValueError("json patch must be an array of operations")
    for op in ops:
        kind, parts = op.get("op"), json_pointer(op.get("path", ""))
        try:
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                get(parts)
                par = parent(parts)
                par[int(parts[-1]) if isinstance(par, list) else parts[-1]] = copy.deepcopy(op["value"])
            elif kind == "move":
                add(parts, remove(json_pointer(op["from"])))
            elif kind == "copy":
                add(parts, copy.deepcopy(get(json_pointer(op["from"]))))
            elif kind == "test":
                if get(parts) != op.get("value"):
                    raise ValueError(f"testing value {op.get('path')} failed")
            else:
                raise ValueError(f"Unexpected kind: {kind}")
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"{kind} operation does not apply: doc is missing path: {op.get('path')}: {e}")
    return doc


# --------------------------------------------------------------------------- protobuf bodies

# kubectl's typed clients (`kubectl create secret|namespace`) send
# `Content-Type: application/vnd.kubernetes.protobuf`: the 4-byte magic "k8s\0"
# and a runtime.Unknown{typeMeta=1{apiVersion=1,kind=2}, raw=2}. Only the messages
# needed for Secret and Namespace are decoded (field numbers from k8s.io/api
# generated.proto); they accept JSON answers (`Accept: ...protobuf,application/json`).

def pb_fields(buf):
    i = 0
    while i < len(buf):
        key, i = pb_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = pb_varint(buf, i)
        elif wt == 2:
            n, i = pb_varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        yield num, val


def pb_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def pb_map_entry(buf):
    kv = dict(pb_fields(buf))
    return kv.get(1, b"").decode(), kv.get(2, b"")


def pb_object_meta(buf):
    md = {}
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for num, val in pb_fields(buf):
        if num in names:
            if val:  # proto2 writes empty optional strings; Go's JSON omits them
                md[names[num]] = val.decode()
        elif num == 7:
            md["generation"] = val
        elif num in (11, 12):
            k, v = pb_map_entry(val)
            md.setdefault("labels" if num == 11 else "annotations", {})[k] = v.decode()
        elif num == 14:
            md.setdefault("finalizers", []).append(val.decode())
    return md


def pb_decode(body):
    if body[:4] != b"k8s\x00":
        raise ValueError("protobuf body without the k8s magic prefix")
    env = dict(pb_fields(body[4:]))
    tm = dict(pb_fields(env.get(1, b"")))
    api_version, kind = tm.get(1, b"").decode(), tm.get(2, b"").decode()
    obj = {"apiVersion": api_version, "kind": kind}
    for num, val in pb_fields(env.get(2, b"")):
        if num == 1:
            obj["metadata"] = pb_object_meta(val)
        elif kind == "Secret" and num in (2, 4):
            k, v = pb_map_entry(val)
            if num == 2:
                obj.setdefault("data", {})[k] = base64.b64encode(v).decode()
            else:
                obj.setdefault("stringData", {})[k] = v.decode()
        elif kind == "Secret" and num == 3 and val:
            obj["type"] = val.decode()
        elif kind == "Secret" and num == 5:
            obj["immutable"] = bool(val)
        elif kind == "Namespace" and num == 2:
            obj["spec"] = {"finalizers": [v.decode() for n, v in pb_fields(val) if n == 1]}
        elif kind not in ("Secret", "Namespace"):
            raise ValueError(f"the fixture decodes protobuf only for Secret and Namespace, not {kind}")
    return obj


# --------------------------------------------------------------------------- field ownership (SSA)

def leaves(obj, prefix=()):
    """Leaf field paths of the user-owned part of an object: spec/data/etc. and
    metadata labels/annotations; lists and empty maps are atomic leaves."""
    out = {}
    if not prefix:
        for k, v in obj.items():
            if k in ("apiVersion", "kind", "status"):
                continue
            if k == "metadata":
                for mk in ("labels", "annotations"):
                    for lk, lv in (v.get(mk) or {}).items():
                        out[("metadata", mk, lk)] = lv
                for mk in ("finalizers", "ownerReferences"):
                    if mk in v:
                        out[("metadata", mk)] = v[mk]
                continue
            out.update(leaves(v, (k,)))
        return out
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            out.update(leaves(v, prefix + (k,)))
        return out
    return {prefix: obj}


def get_path(obj, path):
    for p in path:
        if not isinstance(obj, dict) or p not in obj:
            return None
        obj = obj[p]
    return obj


def del_path(obj, path):
    for p in path[:-1]:
        if not isinstance(obj, dict) or p not in obj:
            return
        obj = obj[p]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)


def related(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def deep_merge(base, over):
    """Apply configuration merged onto the live object: maps merge, the rest replaces."""
    if not isinstance(over, dict) or not isinstance(base, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out.get(k), v) if isinstance(v, dict) else copy.deepcopy(v)
    return out


# --------------------------------------------------------------------------- validation helpers

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def hash10(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def spec_part(obj):
    """What `metadata.generation` tracks: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


# --------------------------------------------------------------------------- the store

class Store:
    def __init__(self, seed, deny, rollout_delay):
        self.cond = threading.Condition(threading.RLock())
        self.initial_seed, self.initial_deny = seed, set(deny)
        self.rollout_delay = rollout_delay
        self.requests = []
        self.reset(seed)

    def reset(self, seed=None):
        with self.cond:
            self.seed = seed or self.initial_seed
            self.objects = {}   # (plural, ns, name) -> object
            self.owners = {}    # (plural, ns, name) -> {path: (manager, operation)}
            self.mtimes = {}    # (plural, ns, name) -> {(manager, operation): time}
            self.events = []    # [(rv:int, type, plural, object)]
            self.rv = 0
            self.deny = set(self.initial_deny)
            self.resources = [r for r in RESOURCES if not (r.crd and self.seed == "no-crds")]
            self.timers = []
            for res, obj in seed_objects(self.seed):
                self.insert_seed(res, obj)
            self.cond.notify_all()

    def res(self, group, version, plural):
        return next((r for r in self.resources
                     if r.group == group and r.version == version and r.plural == plural), None)

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    @staticmethod
    def key(res, ns, name):
        return (res.plural, ns if res.namespaced else "", name)

    def insert_seed(self, res, obj):
        md = obj.setdefault("metadata", {})
        md.update(uid=str(uuid.uuid4()), creationTimestamp=now(), resourceVersion=self.next_rv())
        if res.generation:
            md["generation"] = 1
        k = self.key(res, md.get("namespace", ""), md["name"])
        self.objects[k] = obj
        self.set_owners(k, {}, obj, "kubectl-client-side-apply" if res.crd else "helm", "Update")

    def emit(self, etype, res, obj):
        md = obj["metadata"]
        k = self.key(res, md.get("namespace", ""), md["name"])
        self.events.append((int(md.get("resourceVersion", self.rv)), etype, res.plural, self.render(res, k, obj)))
        self.cond.notify_all()

    # -- field ownership, rendered as metadata.managedFields
    def set_owners(self, k, old, new, manager, op, owned=None):
        own = self.owners.setdefault(k, {})
        old_l, new_l = leaves(old) if old else {}, leaves(new)
        for p in list(own):
            if p not in new_l:
                del own[p]
        changed = owned if owned is not None else [p for p, v in new_l.items() if old_l.get(p, object()) != v]
        for p in changed:
            for q in [q for q in own if related(p, q) and q != p]:
                del own[q]
            own[p] = (manager, op)
        if changed:
            self.mtimes.setdefault(k, {})[(manager, op)] = now()

    def render(self, res, k, obj):
        obj = copy.deepcopy(obj)
        groups = {}
        for p, mo in sorted(self.owners.get(k, {}).items()):
            node = groups.setdefault(mo, {})
            for part in p:
                node = node.setdefault("f:" + part, {})
        mf = [{"manager": m, "operation": op, "apiVersion": res.api_version,
               "time": self.mtimes.get(k, {}).get((m, op), obj["metadata"].get("creationTimestamp")),
               "fieldsType": "FieldsV1", "fieldsV1": f} for (m, op), f in groups.items()]
        if mf:
            obj["metadata"]["managedFields"] = mf
        return obj

    # -- workload controllers, reduced to "the rollout finishes after --rollout-delay"
    def schedule_rollout(self, res, k):
        if res.plural not in WORKLOADS:
            return
        gen = self.objects[k]["metadata"].get("generation", 1)
        if self.rollout_delay <= 0:
            self.converge(res, k, gen)
        else:
            t = threading.Timer(self.rollout_delay, self.converge, (res, k, gen))
            t.daemon = True
            t.start()

    def converge(self, res, k, gen):
        with self.cond:
            obj = self.objects.get(k)
            if not obj or obj["metadata"].get("generation", 1) != gen:
                return
            obj["status"] = workload_status(res, obj)
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self.emit("MODIFIED", res, obj)

    def state(self, volatile=True):
        with self.cond:
            out = {}
            for (plural, ns, name), obj in sorted(self.objects.items()):
                res = next(r for r in self.resources if r.plural == plural)
                o = self.render(res, (plural, ns, name), obj)
                if not volatile:
                    for f in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
                        o["metadata"].pop(f, None)
                    tmpl = (o.get("spec") or {}).get("template") if isinstance(o.get("spec"), dict) else None
                    ann = ((tmpl or {}).get("metadata") or {}).get("annotations") or {}
                    if "kubectl.kubernetes.io/restartedAt" in ann:  # a timestamp: only its presence matters
                        ann["kubectl.kubernetes.io/restartedAt"] = "<set>"
                out.setdefault(f"{res.api_version}/{plural}", {})[f"{ns}/{name}" if ns else name] = o
            return {"resourceVersion": str(self.rv), "seed": self.seed, "rolloutDelay": self.rollout_delay,
                    "deny": sorted(f"{v}:{r}" for v, r in self.deny), "objects": out}


def workload_status(res, obj):
    spec = obj.get("spec", {})
    r = spec.get("replicas", 1) if res.plural != "daemonsets" else 1
    gen, t = obj["metadata"].get("generation", 1), now()
    rev = f'{obj["metadata"]["name"]}-{hash10(spec.get("template", {}))}'
    if res.plural == "deployments":
        st = {"observedGeneration": gen, "replicas": r, "updatedReplicas": r, "readyReplicas": r,
              "availableReplicas": r,
              "conditions": [
                  {"type": "Available", "status": "True", "lastUpdateTime": t, "lastTransitionTime": t,
                   "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                  # `kubectl rollout status` is satisfied by counts; Progressing/NewReplicaSetAvailable
                  # is what the deployment controller leaves once the new ReplicaSet is available.
                  {"type": "Progressing", "status": "True", "lastUpdateTime": t, "lastTransitionTime": t,
                   "reason": "NewReplicaSetAvailable",
                   "message": f'ReplicaSet "{rev}" has successfully progressed.'}]}
    elif res.plural == "statefulsets":
        st = {"observedGeneration": gen, "replicas": r, "readyReplicas": r, "currentReplicas": r,
              "updatedReplicas": r, "availableReplicas": r, "currentRevision": rev, "updateRevision": rev,
              "collisionCount": 0}
    else:
        st = {"observedGeneration": gen, "currentNumberScheduled": 1, "numberMisscheduled": 0,
              "desiredNumberScheduled": 1, "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1}
    # zero-valued counts are omitempty in apps/v1 status
    return {k: v for k, v in st.items() if v != 0 or k in ("observedGeneration", "numberMisscheduled")}


# --------------------------------------------------------------------------- defaults & validation

def apply_defaults(res, obj):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if res.plural == "secrets":
        # stringData is write-only: the v1->internal conversion folds it into data.
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {}) or {}
            obj["data"] = data
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        obj.setdefault("type", "Opaque")
    elif res.plural == "namespaces":
        obj["spec"] = dict(obj.get("spec") or {}, finalizers=["kubernetes"])  # namespace strategy sets it
        obj.setdefault("status", {"phase": "Active"})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif res.plural in WORKLOADS and spec is not None:
        if res.plural != "daemonsets":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if res.plural == "deployments":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        elif res.plural == "statefulsets":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        else:
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})


def validate(res, obj, old=None):
    """422 Invalid for what the real validation would reject (a useful subset)."""
    md, errs = obj.get("metadata") or {}, []
    name = md.get("name", "")
    if not name:
        errs.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif res.plural == "namespaces" and (len(name) > 63 or not DNS1123_LABEL.match(name)):
        errs.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {LABEL_MSG}'))
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errs.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {SUBDOMAIN_MSG}'))
    for which in ("labels", "annotations"):
        val = md.get(which)
        if val is None:
            continue
        if not isinstance(val, dict) or any(not isinstance(v, str) for v in val.values()):
            raise bad_request(f"{res.kind} in version \"{res.version}\" cannot be handled as a {res.kind}: "
                              f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{which} "
                              f"of type map[string]string")
        for k, v in val.items():
            if not LABEL_KEY.match(k):
                errs.append((f"metadata.{which}", "FieldValueInvalid", f'Invalid value: "{k}": name part must '
                             "consist of alphanumeric characters, '-', '_' or '.'"))
            elif which == "labels" and not LABEL_VALUE.match(v):
                errs.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{v}": a valid label '
                             "must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"))
    if res.plural == "secrets":
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise bad_request('Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal '
                              'into Go struct field Secret.data of type map[string][]uint8')
        for k, v in data.items():
            if not CONFIG_KEY.match(k):
                errs.append((f"data[{k}]", "FieldValueInvalid", f'Invalid value: "{k}": a valid config key must '
                             "consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
                             "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
            try:  # []byte fields decode from base64 while the body is decoded: a 400, not a 422
                base64.b64decode(v if isinstance(v, str) else "!", validate=True)
            except Exception:
                raise bad_request('Secret in version "v1" cannot be handled as a Secret: illegal base64 data '
                                  f'at input byte 0 (key {k!r})')
        if obj.get("type") == "kubernetes.io/tls":
            for k in ("tls.crt", "tls.key"):
                if k not in data:
                    errs.append((f"data[{k}]", "FieldValueRequired", "Required value"))
        if old is not None:
            if old.get("type") != obj.get("type"):
                errs.append(("type", "FieldValueInvalid", f'Invalid value: "{obj.get("type")}": field is immutable'))
            if old.get("immutable") and (old.get("data") != obj.get("data") or not obj.get("immutable")):
                errs.append(("data", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set"))
    if res.plural in WORKLOADS:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            errs.append(("spec.selector", "FieldValueRequired", "Required value"))
        else:
            sel = (spec.get("selector") or {}).get("matchLabels")
            tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not spec.get("selector"):
                errs.append(("spec.selector", "FieldValueRequired", "Required value"))
            elif sel and any(tl.get(k) != v for k, v in sel.items()):
                errs.append(("spec.template.metadata.labels", "FieldValueInvalid",
                             f"Invalid value: {json.dumps(tl)}: `selector` does not match template `labels`"))
            reps = spec.get("replicas", 1)
            if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
                errs.append(("spec.replicas", "FieldValueInvalid",
                             f"Invalid value: {json.dumps(reps)}: must be greater than or equal to 0"))
            if old is not None and spec.get("selector") != (old.get("spec") or {}).get("selector"):
                errs.append(("spec.selector", "FieldValueInvalid",
                             f"Invalid value: {json.dumps(spec.get('selector'))}: field is immutable"))
    if errs:
        raise invalid(res, name, errs)


# --------------------------------------------------------------------------- seed data

def make_ca():
    """A real self-signed root and an intermediate (CA:TRUE, pathlen 0) under it,
    as TSE's management plane would distribute; EC P-256 so start-up stays fast."""
    with tempfile.TemporaryDirectory() as d:
        def run(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("req", "-x509", *ec, "-keyout", "root-key.pem", "-out", "root-cert.pem", "-days", "3650",
            "-subj", "/O=Tetrate/CN=TSE Fixture Root CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("req", "-new", *ec, "-keyout", "ca-key.pem", "-out", "ca.csr",
            "-subj", "/O=Tetrate/CN=Intermediate CA fixture-cluster")
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
        run("x509", "-req", "-in", "ca.csr", "-CA", "root-cert.pem", "-CAkey", "root-key.pem",
            "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "365", "-sha256",
            "-extfile", "ext.cnf", "-out", "ca-cert.pem")
        read = lambda n: open(os.path.join(d, n), "rb").read()
        ca, root = read("ca-cert.pem"), read("root-cert.pem")
        return {"ca-cert.pem": ca, "ca-key.pem": read("ca-key.pem"), "root-cert.pem": root,
                "cert-chain.pem": ca + root}


def workload(kind, ns, name, labels, template_annotations=None, template_labels=None, image="busybox"):
    tl = dict(labels, **(template_labels or {}))
    obj = {"apiVersion": "apps/v1", "kind": kind,
           "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
           "spec": {"selector": {"matchLabels": {"app": labels["app"]}},
                    "template": {"metadata": {"labels": tl},
                                 "spec": {"containers": [{"name": name, "image": image}]}}}}
    if kind != "DaemonSet":
        obj["spec"]["replicas"] = 1
    if kind == "StatefulSet":
        obj["spec"]["serviceName"] = name
    if template_annotations:
        obj["spec"]["template"]["metadata"]["annotations"] = dict(template_annotations)
    return obj


def pod(ns, name, labels, annotations=None):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations or {}},
            "spec": {"containers": [{"name": labels["app"], "image": "busybox"}], "nodeName": "fixture-node"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


SIDECAR_STATUS = json.dumps({"initContainers": ["istio-init"], "containers": ["istio-proxy"],
                             "volumes": ["istio-envoy", "istio-data", "istio-podinfo", "istio-token",
                                         "istiod-ca-cert"], "imagePullSecrets": None, "revision": "default"})


def seed_objects(seed):
    by = {r.plural: r for r in RESOURCES}
    out = []
    for ns in ("default", "kube-system", "istio-system", "tse", "bookinfo"):
        obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        if ns == "bookinfo":
            obj["metadata"]["labels"] = {"istio-injection": "enabled"}
        apply_defaults(by["namespaces"], obj)
        out.append((by["namespaces"], obj))
    if seed == "empty":
        return out
    if seed == "tse":
        out.append((by["managementplanes"], {
            "apiVersion": f"{TSE_GROUP}/{TSE_VERSION}", "kind": "ManagementPlane",
            "metadata": {"name": "managementplane", "namespace": "tse"},
            "spec": {"hub": "registry.tse.tetrate.io", "organization": "tse",
                     "certIssuer": {"clusterIntermediateCAs": {}, "selfSigned": {}, "tsbCerts": {}},
                     "components": {"apiServer": {"teamSyncSchedule": "0 * * * *"},
                                    "frontEnvoy": {"port": 443},
                                    "xcp": {"centralAuthModes": {"jwt": True}},
                                    "webUI": {"kubeSpec": {"service": {"type": "ClusterIP"}}}},
                     "telemetryStore": {"elastic": {"host": "elasticsearch.tse", "port": 9200,
                                                    "version": 7, "selfSigned": True}}}}))
        out.append((by["controlplanes"], {
            "apiVersion": f"{TSE_GROUP}/{TSE_VERSION}", "kind": "ControlPlane",
            "metadata": {"name": "controlplane", "namespace": "istio-system"},
            "spec": {"hub": "registry.tse.tetrate.io",
                     "managementPlane": {"host": "tse.example.com", "port": 443,
                                         "clusterName": "fixture-cluster", "selfSigned": True},
                     "telemetryStore": {"elastic": {"host": "tse.example.com", "port": 443, "version": 7,
                                                    "protocol": "https", "selfSigned": True}},
                     "components": {"xcp": {"centralProvidedCaCert": True, "centralAuthMode": "JWT"},
                                    "istio": {"trustDomain": "fixture-cluster"},
                                    "oap": {"streamingLogEnabled": True}}}}))
    ca = make_ca()
    out.append((by["secrets"], {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        # the label a TSE-distributed cacerts carries in this fixture (documented in README.md)
        "metadata": {"name": "cacerts", "namespace": "istio-system",
                     "labels": {"app.kubernetes.io/managed-by": "tsb"}},
        "data": {k: base64.b64encode(v).decode() for k, v in ca.items()}}))
    wl = [
        workload("Deployment", "istio-system", "istiod", {"app": "istiod", "istio": "pilot"},
                 {"prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}),
        workload("Deployment", "istio-system", "istio-ingressgateway",
                 {"app": "istio-ingressgateway", "istio": "ingressgateway"},
                 {"inject.istio.io/templates": "gateway"}, {"sidecar.istio.io/inject": "true"}),
        workload("Deployment", "bookinfo", "productpage", {"app": "productpage", "version": "v1"},
                 {"sidecar.istio.io/inject": "true"}),
        workload("StatefulSet", "bookinfo", "mysqldb", {"app": "mysqldb"}, {"sidecar.istio.io/inject": "true"}),
        workload("Deployment", "default", "plain", {"app": "plain"}),
    ]
    for obj in wl:
        res = by[obj["kind"].lower() + "s"]
        apply_defaults(res, obj)
        obj["status"] = workload_status(res, dict(obj, metadata=dict(obj["metadata"], generation=1)))
        out.append((res, obj))
    for ns, name, labels, injected in [
            ("istio-system", "istiod-5d4f8b7c9d-x2x7q", {"app": "istiod", "istio": "pilot"}, False),
            ("istio-system", "istio-ingressgateway-7f9c6d8b5-qm2lk",
             {"app": "istio-ingressgateway", "istio": "ingressgateway"}, True),
            ("bookinfo", "productpage-6b746f74dc-9rlmh", {"app": "productpage", "version": "v1"}, True),
            ("bookinfo", "mysqldb-0", {"app": "mysqldb"}, True),
            ("default", "plain-7c5ddbdf54-bn4ws", {"app": "plain"}, False)]:
        ann = {"sidecar.istio.io/status": SIDECAR_STATUS} if injected else None
        out.append((by["pods"], pod(ns, name, labels, ann)))
    return out


# --------------------------------------------------------------------------- HTTP

def discovery_resource_list(res_list, gv):
    items = []
    for r in res_list:
        items.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                      "verbs": ALL_VERBS, **({"shortNames": r.short} if r.short else {}),
                      **({"categories": r.categories} if r.categories else {}),
                      "storageVersionHash": hash10(r.api_version + r.kind)})
        if r.plural != "secrets":
            items.append({"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                          "kind": r.kind, "verbs": STATUS_VERBS})
    body = {"kind": "APIResourceList", "groupVersion": gv, "resources": items}
    if gv != "v1":  # /api/v1 has no apiVersion; group versions do
        body = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
    return body


def aggregated_group(name, version, res_list):
    resources = []
    for r in sorted(res_list, key=lambda r: r.plural):
        rk = {"group": r.group, "version": r.version, "kind": r.kind}
        d = {"resource": r.plural, "responseKind": rk, "scope": "Namespaced" if r.namespaced else "Cluster",
             "singularResource": r.singular, "verbs": ALL_VERBS}
        if r.short:
            d["shortNames"] = r.short
        if r.categories:
            d["categories"] = r.categories
        if r.plural != "secrets":
            d["subresources"] = [{"subresource": "status", "responseKind": rk, "verbs": STATUS_VERBS}]
        resources.append(d)
    md = {"name": name, "creationTimestamp": None} if name else {"creationTimestamp": None}
    return {"metadata": md, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]}


def openapi_gv_doc(res_list):
    """Only what kubectl's query-param verifier reads: PATCH operations tagged with
    x-kubernetes-group-version-kind and listing dryRun/fieldManager/fieldValidation/force."""
    params = [{"name": n, "in": "query", "schema": {"type": "boolean" if n == "force" else "string"}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths = {}
    for r in res_list:
        base = "/api/v1" if not r.group else f"/apis/{r.group}/{r.version}"
        p = f"{base}/namespaces/{{namespace}}/{r.plural}/{{name}}" if r.namespaced else f"{base}/{r.plural}/{{name}}"
        paths[p] = {"patch": {"operationId": f"patch{r.kind}", "parameters": params,
                              "x-kubernetes-action": "patch",
                              "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version,
                                                                  "kind": r.kind},
                              "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": {}}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-fixture/1"
    store: Store = None
    token = None
    log_requests = False

    # -- plumbing
    def log_message(self, fmt, *args):
        if self.log_requests:
            sys.stderr.write("fixture: " + fmt % args + "\n")

    def send_json(self, code, body, ctype="application/json"):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = code

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._status = code

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def dispatch(self):
        url = urlsplit(self.path)
        self._status = 0
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()
        try:
            if url.path.startswith("/_fixture/"):
                return self.control(url.path, body, q)
            # kubectl (clientcmd) sends credentials only over TLS, so a missing Authorization
            # header is accepted; a wrong one is refused as the real authenticator does.
            auth = self.headers.get("Authorization")
            if auth is not None and auth != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(url.path, q, body)
        except ApiError as e:
            self.send_json(e.code, e.body())
        except PageNotFound:
            self.send_text(404, "404 page not found\n")
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as e:  # a fixture bug: say so like the real server's InternalError
            import traceback
            traceback.print_exc()
            self.send_json(500, ApiError(500, "InternalError", f"Internal error occurred: {e!r}").body())
        finally:
            if not url.path.startswith("/_fixture/"):
                with self.store.cond:
                    self.store.requests.append({
                        "method": self.command, "path": url.path, "query": q,
                        "contentType": self.headers.get("Content-Type"),
                        "userAgent": self.headers.get("User-Agent"), "status": self._status})
                    del self.store.requests[:-2000]

    # -- test-only control endpoints
    def control(self, path, body, q):
        st = self.store
        if path == "/_fixture/state" and self.command == "GET":
            return self.send_json(200, st.state(volatile=q.get("volatile", "1") not in ("0", "false")))
        if path == "/_fixture/requests":
            if self.command == "DELETE":
                with st.cond:
                    st.requests.clear()
                return self.send_json(200, [])
            with st.cond:
                return self.send_json(200, list(st.requests))
        if path == "/_fixture/deny":
            with st.cond:
                if self.command == "POST":
                    d = json.loads(body or b"{}")
                    st.deny.add((d.get("verb", "*"), d.get("resource", "*")))
                elif self.command == "DELETE":
                    if body:
                        d = json.loads(body)
                        st.deny.discard((d.get("verb", "*"), d.get("resource", "*")))
                    else:
                        st.deny.clear()
                return self.send_json(200, sorted(f"{v}:{r}" for v, r in st.deny))
        if path == "/_fixture/reset" and self.command == "POST":
            d = json.loads(body or b"{}")
            st.reset(d.get("seed"))
            return self.send_json(200, {"seed": st.seed, "resourceVersion": str(st.rv)})
        if path == "/_fixture/config" and self.command in ("GET", "POST"):
            if self.command == "POST":
                d = json.loads(body or b"{}")
                if "rolloutDelay" in d:
                    st.rollout_delay = float(d["rolloutDelay"])
            return self.send_json(200, {"rolloutDelay": st.rollout_delay})
        self.send_text(404, "404 page not found\n")

    # -- routing
    def route(self, path, q, body):
        st = self.store
        accept = self.headers.get("Accept", "")
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_text(200, "ok")
        if path == "/version":
            return self.send_json(200, VERSION_INFO)
        if parts[:1] == ["openapi"]:
            return self.openapi(parts)
        if self.command == "GET" and path in ("/api", "/apis"):
            # Aggregated discovery (KEP-3352) only when asked for; kubectl and client-go
            # tell the two apart by the response Content-Type.
            m = re.search(r"g=apidiscovery\.k8s\.io;v=(v2beta1|v2)\b", accept.replace(" ", ""))
            if m and "as=APIGroupDiscoveryList" in accept.replace(" ", ""):
                return self.aggregated(path, m.group(1))
            if path == "/api":
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                            "serverAddress": self.server_addr()}]})
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": self.groups()})
        if parts[:1] == ["api"]:
            if len(parts) < 2 or parts[1] != "v1":
                raise PageNotFound()
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"]:
            grp = next((g for g in self.groups() if len(parts) > 1 and g["name"] == parts[1]), None)
            if not grp:
                raise PageNotFound()
            if len(parts) == 2 and self.command == "GET":
                return self.send_json(200, dict(kind="APIGroup", apiVersion="v1", **grp))
            if len(parts) < 3 or parts[2] not in [v["version"] for v in grp["versions"]]:
                raise PageNotFound()
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise PageNotFound()
        gv_res = [r for r in st.resources if r.group == group and r.version == version]
        if not rest:
            if self.command != "GET":
                raise PageNotFound()
            return self.send_json(200, discovery_resource_list(gv_res, f"{group}/{version}" if group else version))
        # /namespaces/{ns}/{plural}[/{name}[/{sub}]] or /{plural}[/{name}[/{sub}]]
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, plural, name, sub = rest[1], rest[2], (rest[3:4] or [None])[0], (rest[4:5] or [None])[0]
            if len(rest) > 5:
                raise PageNotFound()
        else:
            ns, plural, name, sub = None, rest[0], (rest[1:2] or [None])[0], (rest[2:3] or [None])[0]
            if len(rest) > 3:
                raise PageNotFound()
        res = st.res(group, version, plural)
        if res is None or (ns is not None and not res.namespaced) or (sub and sub != "status") \
                or (sub == "status" and res.plural == "secrets"):
            raise PageNotFound()
        self.resource(res, ns or "", name, sub, q, body)

    def server_addr(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def groups(self):
        seen = []
        for r in self.store.resources:
            if r.group and r.group not in [g["name"] for g in seen]:
                gv = {"groupVersion": r.api_version, "version": r.version}
                seen.append({"name": r.group, "versions": [gv], "preferredVersion": gv})
        return seen

    def aggregated(self, path, ver):
        st = self.store
        if path == "/api":
            items = [aggregated_group("", "v1", [r for r in st.resources if not r.group])]
        else:
            items = [aggregated_group(g["name"], g["versions"][0]["version"],
                                      [r for r in st.resources if r.group == g["name"]]) for g in self.groups()]
        ctype = f"application/json;g=apidiscovery.k8s.io;v={ver};as=APIGroupDiscoveryList"
        self.send_json(200, {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{ver}",
                             "metadata": {}, "items": items}, ctype)

    def openapi(self, parts):
        st = self.store
        if parts[1:2] != ["v3"] or self.command != "GET":
            raise PageNotFound()  # no /openapi/v2: kubectl only uses it as a fallback
        gvs = {"api/v1": [r for r in st.resources if not r.group]}
        for g in self.groups():
            gvs[f"apis/{g['name']}/{g['versions'][0]['version']}"] = [r for r in st.resources if r.group == g["name"]]
        if len(parts) == 2:
            return self.send_json(200, {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={hash10(k)}"}
                                                  for k in gvs}})
        key = "/".join(parts[2:])
        if key not in gvs:
            raise PageNotFound()
        self.send_json(200, openapi_gv_doc(gvs[key]))

    # -- resources
    def resource(self, res, ns, name, sub, q, body):
        st, m = self.store, self.command
        verb = {"GET": "get" if name else ("watch" if q.get("watch") in ("true", "1") else "list"),
                "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[m]
        if (m == "POST" and name) or (m in ("PUT", "PATCH") and not name):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                           {})
        with st.cond:  # authorization comes before everything else, as in the real filter chain
            if {(verb, res.plural), (verb, "*"), ("*", res.plural), ("*", "*")} & st.deny:
                # RBAC attributes of create/list/watch/deletecollection carry no name
                raise forbidden(res, verb, ns, name if verb in ("get", "update", "patch", "delete") else "")
        dry = q.get("dryRun", "")
        if dry not in ("", "All"):
            raise bad_request(f'dryRun: Unsupported value: "{dry}": supported values: "All"')
        if verb == "get":
            with st.cond:
                k = st.key(res, ns, name)
                if k not in st.objects:
                    raise not_found(res, name)
                return self.send_json(200, st.render(res, k, st.objects[k]))
        if verb == "list":
            return self.send_json(200, self.list_objects(res, ns, q))
        if verb == "watch":
            return self.watch(res, ns, q)
        manager = q.get("fieldManager") or (self.headers.get("User-Agent") or "unknown").split("/")[0][:128]
        if verb == "create":
            return self.create(res, ns, self.decode(res, body, q), dry == "All", manager)
        if verb == "update":
            return self.update(res, ns, name, sub, self.decode(res, body, q), dry == "All", manager)
        if verb == "patch":
            return self.patch(res, ns, name, sub, body, q, dry == "All", manager)
        opts = json.loads(body) if body.strip() else {}
        dry = dry == "All" or "All" in (opts.get("dryRun") or [])
        if verb == "delete":
            return self.delete(res, ns, name, opts, dry)
        with st.cond:
            items = self.list_objects(res, ns, q)["items"]
            for it in items:
                if not dry:
                    self.delete(res, it["metadata"].get("namespace", ""), it["metadata"]["name"], {}, False,
                                respond=False)
            self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                 "metadata": {"resourceVersion": str(st.rv)}, "items": items})

    def decode(self, res, body, q):
        if (self.headers.get("Content-Type") or "").startswith("application/vnd.kubernetes.protobuf"):
            try:
                obj = pb_decode(body)
            except (ValueError, IndexError) as e:
                raise unsupported_media(["application/json", "application/yaml",
                                         "application/vnd.kubernetes.protobuf"]) if "decodes" in str(e) \
                    else bad_request(f"the object provided is unrecognized (must be of type {res.kind}): {e}")
            self.check_type(res, obj, q)
            return obj
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise bad_request(f"the object provided is unrecognized (must be of type {res.kind}): "
                              f"couldn't get version/kind; json parse error: {e}")
        if not isinstance(obj, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {res.kind})")
        self.check_type(res, obj, q)
        return obj

    def check_type(self, res, obj, q):
        if obj.get("kind", res.kind) != res.kind or obj.get("apiVersion", res.api_version) != res.api_version:
            raise bad_request(f'the API version in the data ({obj.get("apiVersion")}) does not match the expected '
                              f'API version ({res.api_version})' if obj.get("kind") == res.kind else
                              f'{obj.get("kind")} in version "{res.version}" cannot be handled as a {res.kind}: '
                              f'kind mismatch')
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                              "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta")
        self.drop_unknown(res, obj, q)

    @staticmethod
    def drop_unknown(res, obj, q):
        unknown = sorted(set(obj) - res.known_fields) if res.known_fields else []
        if unknown and q.get("fieldValidation") == "Strict":
            raise bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                              + ", ".join(f'strict decoding error: unknown field "{u}"' for u in unknown))
        for u in unknown:  # typed objects drop what their Go struct lacks
            obj.pop(u)

    def list_objects(self, res, ns, q):
        st = self.store
        lsel = parse_label_selector(q.get("labelSelector"))
        fsel = parse_field_selector(res, q.get("fieldSelector"))
        with st.cond:
            items = []
            for k, obj in sorted(st.objects.items()):
                if k[0] != res.plural or (ns and k[1] != ns):
                    continue
                if labels_match(lsel, obj["metadata"].get("labels")) and fields_match(fsel, obj):
                    o = st.render(res, k, obj)
                    if not res.crd:  # typed lists omit apiVersion/kind on items; custom resources keep them
                        o.pop("apiVersion", None)
                        o.pop("kind", None)
                    items.append(o)
            return {"kind": res.kind + "List", "apiVersion": res.api_version,
                    "metadata": {"resourceVersion": str(st.rv)}, "items": items}

    def ensure_ns(self, res, ns):
        if res.namespaced and ("namespaces", "", ns) not in self.store.objects:
            raise ns_not_found(ns)

    def create(self, res, ns, obj, dry, manager):
        st = self.store
        md = obj["metadata"]
        if res.namespaced:
            if md.get("namespace") not in (None, "", ns):
                raise bad_request(NS_MISMATCH)
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + pysecrets.token_hex(3)[:5]
        for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "deletionTimestamp"):
            md.pop(f, None)
        with st.cond:
            apply_defaults(res, obj)
            validate(res, obj)
            self.ensure_ns(res, ns)
            k = st.key(res, ns, md["name"])
            if k in st.objects:
                raise already_exists(res, md["name"])
            md["uid"], md["creationTimestamp"] = str(uuid.uuid4()), now()
            if res.generation:
                md["generation"] = 1
            if res.plural in WORKLOADS or res.crd:
                obj.pop("status", None)  # status is the controllers' (status subresource)
            if dry:  # dry-run: everything but the write; no resourceVersion assigned
                return self.send_json(201, obj)
            md["resourceVersion"] = st.next_rv()
            st.objects[k] = obj
            st.set_owners(k, {}, obj, manager, "Update")
            st.emit("ADDED", res, obj)
            out = st.render(res, k, obj)
            st.schedule_rollout(res, k)
            self.send_json(201, out)

    def write(self, res, k, old, new, dry, manager, op="Update", owned=None, sub=None, created=False,
              precondition_rv=None):
        """Common tail of update/patch/apply: preserve server-owned metadata, validate,
        bump generation and resourceVersion only if something changed, store."""
        st = self.store
        name = k[2]
        md = new.setdefault("metadata", {})
        if precondition_rv and precondition_rv != old["metadata"].get("resourceVersion"):
            raise conflict(res, name)
        for f in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if f in old["metadata"]:
                md[f] = old["metadata"][f]
            else:
                md.pop(f, None)
        md["name"], md.pop("managedFields", None)
        if res.namespaced:
            md["namespace"] = k[1]
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if sub == "status":  # the status subresource changes status only
            new = dict(copy.deepcopy(old), status=new.get("status"))
        elif res.plural in WORKLOADS or res.crd:  # and the main resource never does
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        apply_defaults(res, new)
        validate(res, new, old)
        md = new["metadata"]
        md["resourceVersion"] = old["metadata"].get("resourceVersion")
        if res.generation and spec_part(new) != spec_part(old):
            md["generation"] = old["metadata"].get("generation", 1) + 1
        changed = new != old
        if dry or not changed:  # a no-op write does not bump resourceVersion (nor does dry-run)
            return self.send_json(200, st.render(res, k, new) if not dry else new)
        md["resourceVersion"] = st.next_rv()
        st.objects[k] = new
        st.set_owners(k, old, new, manager, op, owned)
        st.emit("MODIFIED", res, new)
        out = st.render(res, k, new)
        if md.get("generation") != old["metadata"].get("generation"):
            st.schedule_rollout(res, k)
        self.send_json(200, out)

    def update(self, res, ns, name, sub, obj, dry, manager):
        st = self.store
        if obj["metadata"].get("name", name) != name:
            raise bad_request(f'the name of the object ({obj["metadata"].get("name")}) does not match the name on '
                              f'the URL ({name})')
        if res.namespaced and obj["metadata"].get("namespace") not in (None, "", ns):
            raise bad_request(NS_MISMATCH)
        with st.cond:
            k = st.key(res, ns, name)
            if k not in st.objects:  # no AllowCreateOnUpdate for these types
                raise not_found(res, name)
            old = st.objects[k]
            self.write(res, k, old, copy.deepcopy(obj), dry, manager, sub=sub,
                       precondition_rv=obj["metadata"].get("resourceVersion"))

    def patch(self, res, ns, name, sub, body, q, dry, manager):
        st = self.store
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if not res.crd:
            accepted.insert(2, "application/strategic-merge-patch+json")
        # custom resources have no Go struct with patch strategies: no strategic merge patch (415)
        if ctype not in accepted:
            raise unsupported_media(accepted)
        if ctype == "application/apply-patch+yaml":
            return self.apply(res, ns, name, sub, body, q, dry)
        if q.get("force"):
            raise bad_request("force: Invalid value: true: may not be specified for non-apply patch")
        try:
            patch = json.loads(body)
        except ValueError as e:
            raise bad_request(f"error decoding patch: {e}")
        with st.cond:
            k = st.key(res, ns, name)
            if k not in st.objects:
                raise not_found(res, name)
            old = st.objects[k]
            try:
                if ctype == "application/json-patch+json":
                    new = json_patch(old, patch)
                elif not isinstance(patch, dict):
                    raise bad_request("error decoding patch: the patch is not a JSON object")
                elif ctype == "application/merge-patch+json":
                    new = merge_patch(old, patch)
                else:
                    new = strategic_merge(old, patch)
            except ValueError as e:
                raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}",
                               {})
            if not isinstance(new, dict):
                raise bad_request("the patched object is not a JSON object")
            self.drop_unknown(res, new, q)
            # a resourceVersion inside the patch is an optimistic-concurrency precondition
            prv = ((patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None)
            self.write(res, k, old, new, dry, manager, sub=sub, precondition_rv=prv)

    def apply(self, res, ns, name, sub, body, q, dry):
        """Server-side apply: the applied configuration is merged onto the live object;
        fields this manager applied before and no longer applies are removed; a field
        another manager owns with a different value conflicts unless force=true.
        Simplification: one owner per field (the real server can share ownership)."""
        st = self.store
        manager = q.get("fieldManager")
        if not manager:
            raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        force = q.get("force") in ("true", "1")
        try:
            cfg = json.loads(body)
        except ValueError:
            if yaml is None:
                raise bad_request("error decoding YAML: PyYAML is not installed in the fixture; send JSON")
            try:
                cfg = yaml.safe_load(body)
            except yaml.YAMLError as e:
                raise bad_request(f"error decoding YAML: {e}")
        if not isinstance(cfg, dict):
            raise bad_request("error decoding YAML: the applied configuration is not an object")
        if not cfg.get("apiVersion") or not cfg.get("kind"):
            raise bad_request(f"invalid object type: {cfg.get('apiVersion', '')}, Kind={cfg.get('kind', '')}")
        self.check_type(res, cfg, q)
        md = cfg["metadata"]
        if md.get("name", name) != name:
            raise bad_request(f'the name of the object ({md.get("name")}) does not match the name on the URL ({name})')
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") not in (None, "", ns):
                raise bad_request(NS_MISMATCH)
            md["namespace"] = ns
        if res.plural == "secrets" and isinstance(cfg.get("stringData"), dict):
            sd = cfg.pop("stringData")
            cfg.setdefault("data", {}).update({k: base64.b64encode(str(v).encode()).decode() for k, v in sd.items()})
        for f in ("uid", "creationTimestamp", "generation", "managedFields"):
            md.pop(f, None)
        rv = md.pop("resourceVersion", None)
        with st.cond:
            k = st.key(res, ns, name)
            if k not in st.objects:  # apply creates
                self.ensure_ns(res, ns)
                obj = copy.deepcopy(cfg)
                apply_defaults(res, obj)
                validate(res, obj)
                if rv:
                    raise conflict(res, name)
                obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=now())
                if res.generation:
                    obj["metadata"]["generation"] = 1
                if res.plural in WORKLOADS or res.crd:
                    obj.pop("status", None)
                if dry:
                    return self.send_json(201, obj)
                obj["metadata"]["resourceVersion"] = st.next_rv()
                st.objects[k] = obj
                st.set_owners(k, {}, obj, manager, "Apply", owned=list(leaves(cfg)))
                st.emit("ADDED", res, obj)
                out = st.render(res, k, obj)
                st.schedule_rollout(res, k)
                return self.send_json(201, out)
            old = st.objects[k]
            cfg_l = leaves(cfg)
            owners = st.owners.get(k, {})
            if not force:
                clash = sorted(p for p, v in cfg_l.items()
                               if owners.get(p, (manager,))[0] != manager and get_path(old, p) != v)
                if clash:
                    by = {}
                    for p in clash:
                        by.setdefault(owners[p][0], []).append(p)
                    causes, lines = [], []
                    for m, ps in by.items():
                        for p in ps:
                            fld = "." + ".".join(p)
                            causes.append({"reason": "FieldManagerConflict",
                                           "message": f'conflict with "{m}"', "field": fld})
                            lines.append(f'conflict with "{m}": {fld}')
                    msg = (f"Apply failed with {len(clash)} conflict{'s' if len(clash) > 1 else ''}: "
                           + ("\n".join("- " + ln for ln in lines) if len(clash) > 1 else lines[0]))
                    raise ApiError(409, "Conflict", msg, dict(res.details(name), causes=causes))
            new = deep_merge(old, cfg)
            for p, (m, op) in list(owners.items()):
                if m == manager and op == "Apply" and p not in cfg_l and not any(related(p, c) for c in cfg_l):
                    del_path(new, p)
            self.write(res, k, old, new, dry, manager, op="Apply", owned=list(cfg_l), sub=sub, precondition_rv=rv)

    def delete(self, res, ns, name, opts, dry, respond=True):
        st = self.store
        with st.cond:
            k = st.key(res, ns, name)
            if k not in st.objects:
                raise not_found(res, name)
            obj = st.objects[k]
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise conflict(res, name, f'Precondition failed: UID in precondition: {pre["uid"]}, '
                                          f'UID in object meta: {obj["metadata"]["uid"]}')
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise conflict(res, name, f'Precondition failed: ResourceVersion in precondition: '
                                          f'{pre["resourceVersion"]}, ResourceVersion in object meta: '
                                          f'{obj["metadata"]["resourceVersion"]}')
            out = st.render(res, k, obj)
            if res.plural == "namespaces":  # real: Terminating, then gone once emptied; here at once
                out["metadata"]["deletionTimestamp"] = now()
                out["status"] = {"phase": "Terminating"}
            if not dry:
                del st.objects[k]
                st.owners.pop(k, None)
                if res.plural == "namespaces":
                    for kk in [kk for kk in st.objects if kk[1] == name]:
                        del st.objects[kk]
                obj["metadata"]["resourceVersion"] = st.next_rv()
                st.emit("DELETED", res, obj)
            if not respond:
                return
            if res.return_deleted:
                return self.send_json(200, out)
            # the generic registry's answer: a Success Status naming the deleted object
            self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                 "details": dict(res.details(name), uid=obj["metadata"]["uid"])})

    def watch(self, res, ns, q):
        """Newline-delimited watch events over a chunked response (what kubectl's
        reflectors use for `rollout status` and `wait`)."""
        st = self.store
        lsel = parse_label_selector(q.get("labelSelector"))
        fsel = parse_field_selector(res, q.get("fieldSelector"))
        timeout = min(float(q.get("timeoutSeconds") or 1800), 3600)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        initial = q.get("sendInitialEvents") in ("true", "1")

        def match(obj):
            return (not ns or obj["metadata"].get("namespace") == ns) and \
                labels_match(lsel, obj["metadata"].get("labels")) and fields_match(fsel, obj)

        def send(etype, obj):
            data = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = 200
        with st.cond:
            rv = q.get("resourceVersion")
            first = []
            if initial or not rv or rv == "0":
                first = [st.render(res, k, o) for k, o in sorted(st.objects.items())
                         if k[0] == res.plural and match(o)]
                start = st.rv
            else:
                start = int(rv)
            pos = next((i for i, e in enumerate(st.events) if e[0] > start), len(st.events))
        try:
            for o in first:
                send("ADDED", o)
            if initial:
                send("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                  "metadata": {"resourceVersion": str(start),
                                               "annotations": {"k8s.io/initial-events-end": "true"}}})
            deadline, last = time.monotonic() + timeout, time.monotonic()
            while time.monotonic() < deadline and not getattr(self.server, "stopping", False):
                with st.cond:
                    if pos >= len(st.events):
                        st.cond.wait(0.5)
                    batch, pos = st.events[pos:], len(st.events)
                for erv, etype, plural, obj in batch:
                    if plural == res.plural and match(obj):
                        send(etype, obj)
                        last = time.monotonic()
                if bookmarks and time.monotonic() - last > 5:
                    send("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                      "metadata": {"resourceVersion": str(st.rv)}})
                    last = time.monotonic()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


# --------------------------------------------------------------------------- main

def kubeconfig_yaml(port, token):
    # JSON-compatible YAML by hand: no PyYAML needed to write it.
    return (f"# fixture-server: http://127.0.0.1:{port}\n"
            "apiVersion: v1\nkind: Config\n"
            "clusters:\n"
            f"- name: fixture\n  cluster:\n    server: http://127.0.0.1:{port}\n"
            # port 1 (tcpmux) is never listened on: connections are refused at once
            "- name: other\n  cluster:\n    server: http://127.0.0.1:1\n"
            "users:\n"
            f"- name: fixture\n  user:\n    token: {token}\n"
            "contexts:\n"
            "- name: fixture\n  context:\n    cluster: fixture\n    user: fixture\n"
            "- name: other\n  context:\n    cluster: other\n    user: fixture\n"
            "current-context: fixture\npreferences: {}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", choices=["tse", "empty", "no-crds"], default="tse")
    ap.add_argument("--deny", action="append", default=[], metavar="VERB:RESOURCE",
                    help="answer 403 Forbidden for this verb on this resource (e.g. delete:secrets, *:secrets)")
    ap.add_argument("--kubeconfig", metavar="FILE")
    ap.add_argument("--rollout-delay", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--log", action="store_true", help="log each request to stderr")
    args = ap.parse_args(argv)
    deny = set()
    for d in args.deny:
        verb, sep, resource = d.partition(":")
        if not sep:
            ap.error(f"--deny wants VERB:RESOURCE, got {d!r}")
        deny.add((verb, resource))

    token = "fixture-" + pysecrets.token_hex(16)
    Handler.store = Store(args.seed, deny, args.rollout_delay)
    Handler.token, Handler.log_requests = token, args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    kc = kubeconfig_yaml(port, token)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    if args.exit_on_stdin_eof:
        def wait_eof():
            while sys.stdin.buffer.read(4096):
                pass
            stop.set()
        threading.Thread(target=wait_eof, daemon=True).start()

    if args.kubeconfig:
        path = os.path.abspath(args.kubeconfig)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(kc)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        sys.stdout.write(path + "\n")
    else:
        sys.stdout.write(kc + "---ready---\n")
    sys.stdout.flush()

    while not stop.wait(0.5):
        pass
    server.stopping = True
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
