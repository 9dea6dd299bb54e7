"""Runs the install stage of the original facsimile 1.1.1 on one legacy
project, in-process, and writes what it computed as JSON.

Used by tests/it/oracle.rs (see tests/README.md, "The oracle test"). Standard
library only; it needs the `facsimile` and `jinja2` packages of the Python
it runs under (Python 3.9: facsimile 1.1.1 uses collections.MutableMapping).

    python original.py --repo REPO --name NAME --env ENV --version VERSION \
        --top TOP --out OUT.json

This is what `cd REPO && facsimile NAME ENV VERSION --src-dir REPO
--top-dir TOP --only install` does (facsimile/facs.py builds the class the
same way), minus the option parsing. The original prints progress on
stdout, so stdout is sent to stderr while it runs and the result goes to
OUT.json only:

    data        the merged definition (inst.defined.data)
    module      the template context's `module` (inst.state.tree()["module"]),
                keyed by daemon, else module name
    modules     the module list after the state stage filled it in (with
                service uiids)
    release_dir the rendered tree (TOP/tmp/RELEASE/VERSION/ENV/NAME)
    deploy_dir  release_dir/_DEPLOY_
    state_file  TOP/state/ENV/state.json
"""

import argparse
import contextlib
import getpass
import json
import os
import sys


def main():
    parser = argparse.ArgumentParser()
    for opt in ("repo", "name", "env", "version", "top", "out"):
        parser.add_argument("--" + opt, required=True)
    args = parser.parse_args()

    repo = os.path.abspath(args.repo)
    top = os.path.abspath(args.top)
    out = os.path.abspath(args.out)

    # The original refuses to run with LD_LIBRARY_PATH set, and its
    # definition loader replaces {{environ.USER}} with $USER, failing with a
    # TypeError when USER is unset (as it is in many containers).
    os.environ.pop("LD_LIBRARY_PATH", None)
    if not os.environ.get("USER"):
        try:
            os.environ["USER"] = getpass.getuser()
        except Exception:
            os.environ["USER"] = "facs"
    os.environ.setdefault("HOME", top)

    # Relative copy-group paths and `dir` walks are relative to the working
    # directory, which is the repository for a `--src-dir .` run.
    os.chdir(repo)

    with contextlib.redirect_stdout(sys.stderr):
        from facsimile.base import Facsimile

        class Project(Facsimile):
            pass

        # facsimile/facs.py: get_cls sets the class attribute `name`.
        Project.name = args.name
        inst = Project(
            name=args.name,
            release_environment=args.env,
            version=args.version,
            top_dir=top,
            src_dir=repo,
            only="install",
            skip_env_check=True,
        )
        inst.run()
        # The state is created lazily by the first tmpl group; make sure it
        # exists (and is written) even for a project without one.
        tree = inst.state.tree()
        result = {
            "data": inst.defined.data,
            "module": tree["module"],
            "modules": inst.defined.modules(),
            "release_dir": inst.release_dir,
            "deploy_dir": inst.deploy_dir,
            "state_file": inst.state.state_file,
        }

    with open(out + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
