"""Convert a docker/podman seccomp profile (containers-common seccomp.json) to the OCI
runtime-spec `linux.seccomp` form, the way podman does it (containers/common pkg/seccomp):

- architectures: the archMap entry of the native architecture plus its subArchitectures;
- a rule group is dropped if excludes.arches holds our arch, if any of excludes.caps is in
  the granted (bounding) set, if includes.arches is set and lacks our arch, or if any of
  includes.caps is not granted;
- comment/includes/excludes/errno (name) are removed; errnoRet is kept.

Also compiles the same OCI section to classic BPF with libseccomp (python3-seccomp) for
bubblewrap's --seccomp FD.
"""

import json

NATIVE_GOARCH = "amd64"
NATIVE_SCMP = "SCMP_ARCH_X86_64"


def docker_to_oci(profile, caps, goarch=NATIVE_GOARCH, scmp_arch=NATIVE_SCMP):
    arches = []
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == scmp_arch:
            arches = [entry["architecture"]] + list(entry.get("subArchitectures") or [])
    caps = set(caps)
    out = []
    for call in profile.get("syscalls") or []:
        inc = call.get("includes") or {}
        exc = call.get("excludes") or {}
        if goarch in (exc.get("arches") or []):
            continue
        if any(c in caps for c in (exc.get("caps") or [])):
            continue
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        rule = {"names": list(call["names"]), "action": call["action"]}
        if call.get("args"):
            rule["args"] = [
                {"index": a["index"], "value": a["value"], "valueTwo": a.get("valueTwo", 0), "op": a["op"]}
                for a in call["args"]
            ]
        if "errnoRet" in call:
            rule["errnoRet"] = call["errnoRet"]
        out.append(rule)
    sec = {"defaultAction": profile["defaultAction"], "architectures": arches, "syscalls": out}
    if "defaultErrnoRet" in profile:
        sec["defaultErrnoRet"] = profile["defaultErrnoRet"]
    return sec


def oci_to_bpf(sec, path):
    """Compile an OCI seccomp section to BPF at path. Returns (rules added, rules skipped).

    Skipped: syscall names libseccomp does not know on an architecture, and rules libseccomp
    refuses (for example an action equal to the default action) -- the same rules runc and
    crun skip."""
    import seccomp as S  # python3-seccomp; run with /usr/bin/python3

    def action(name, errno_ret):
        if name == "SCMP_ACT_ALLOW":
            return S.ALLOW
        if name == "SCMP_ACT_ERRNO":
            return S.ERRNO(errno_ret)
        if name == "SCMP_ACT_KILL" or name == "SCMP_ACT_KILL_THREAD":
            return S.KILL
        if name == "SCMP_ACT_KILL_PROCESS":
            return S.KILL_PROCESS
        if name == "SCMP_ACT_LOG":
            return S.LOG
        if name == "SCMP_ACT_TRAP":
            return S.TRAP
        raise ValueError("seccomp action %s" % name)

    ops = {"SCMP_CMP_NE": S.NE, "SCMP_CMP_LT": S.LT, "SCMP_CMP_LE": S.LE, "SCMP_CMP_EQ": S.EQ,
           "SCMP_CMP_GE": S.GE, "SCMP_CMP_GT": S.GT, "SCMP_CMP_MASKED_EQ": S.MASKED_EQ}
    arch_names = {"SCMP_ARCH_X86_64": S.Arch.X86_64, "SCMP_ARCH_X86": S.Arch.X86,
                  "SCMP_ARCH_X32": S.Arch.X32}
    f = S.SyscallFilter(defaction=action(sec["defaultAction"], sec.get("defaultErrnoRet", 1)))
    for a in sec.get("architectures", []):
        arch = arch_names[a]
        if arch != S.Arch.NATIVE and arch != S.Arch.X86_64:
            f.add_arch(arch)
    added = skipped = 0
    for rule in sec["syscalls"]:
        act = action(rule["action"], rule.get("errnoRet", 1))
        args = []
        for a in rule.get("args") or []:
            if a["op"] == "SCMP_CMP_MASKED_EQ":
                args.append(S.Arg(a["index"], S.MASKED_EQ, a["value"], a["valueTwo"]))
            else:
                args.append(S.Arg(a["index"], ops[a["op"]], a["value"]))
        for name in rule["names"]:
            try:
                f.add_rule(act, name, *args)
                added += 1
            except Exception:
                skipped += 1
    with open(path, "wb") as fh:
        f.export_bpf(fh)
    return added, skipped


if __name__ == "__main__":
    import sys
    prof = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/containers/seccomp.json"))
    print(json.dumps(docker_to_oci(prof, ["CAP_CHOWN", "CAP_KILL"]), indent=1))
