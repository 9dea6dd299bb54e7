#!/usr/bin/env python3
"""Generates a conglomerate of C components x N instances (issue 17):
DIR/platform/ declares N concrete instances (inheriting one abstract base,
with two targets) and a shared module; DIR/comp-<i>/ is a standalone project
with its own module, a template and an `instance` override for every tenth
environment.

    gen_components.py [--components C] N DIR
"""
import os
import sys


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    args = sys.argv[1:]
    components = 10
    if args[:1] == ["--components"]:
        components = int(args[1])
        args = args[2:]
    n, out = int(args[0]), args[1]
    items = "\n".join(f'  component c{i} {{ dir: "../comp-{i}" }}' for i in range(components))
    lines = [f'project platform {{\n  version: "1.0.0"\n{items}\n}}\n',
             'module db { service { logical_name: "db" } }\n',
             'abstract instance base {\n  home: "/srv/app"\n  domain: "example.org"\n'
             '  target web { nodes: ["web1", "web2"] }\n  target db { nodes: ["db1"] }\n}\n']
    for k in range(n):
        lines.append(f'instance env{k:05d} inherits base {{ index: {k} }}\n')
    write(os.path.join(out, "platform", "main.facs"), "".join(lines))
    for i in range(components):
        d = os.path.join(out, f"comp-{i}")
        own = [f'project comp{i} {{ version: "0.{i}.0" }}\n',
               f'module svc{i} {{ service {{ logical_name: "svc{i}" }} }}\n',
               'abstract instance common {\n  install: [{ type: "tmpl", dir: "tmpl" }]\n}\n']
        for k in range(0, n, 10):
            own.append(f'instance env{k:05d} inherits common {{ replicas: {k % 7 + 1} }}\n')
        write(os.path.join(d, "main.facs"), "".join(own))
        write(os.path.join(d, "tmpl", "_ALL_", "app.conf"),
              "{{instance.name}} {{instance.domain}} db={{module.db.password}} "
              f"svc={{{{module.svc{i}.password}}}} uiid={{{{module.svc{i}.service.uiid}}}}\n")


if __name__ == "__main__":
    main()
