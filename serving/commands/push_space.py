"""`push-space`: the Gradio Space uploaded as one commit, pinned to a model repo's revision."""

from __future__ import annotations

import argparse

from serving.commands.common import repo_id_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    hs = sub.add_parser("push-space", help="upload the Gradio Space, pinned to a model revision, as one commit")
    hs.add_argument("--space", required=True, type=repo_id_arg, help="USER/SPACE")
    hs.add_argument(
        "--model-repo", required=True, type=lambda t: repo_id_arg(t, revision=True), help="USER/NAME[@REVISION]"
    )
    hs.add_argument("--private", action="store_true", help="create the Space private")
    hs.add_argument("--message", default=None, help="commit message")
    hs.add_argument("--dry-run", action="store_true", help="list what would be uploaded, contact nothing")
    hs.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.publish import hub

    if args.dry_run:
        repo, _, rev = args.model_repo.partition("@")
        files = hub.space_files(repo, rev or "<main at push time>", args.space)
        print(
            f"would upload {len(files)} files to Gradio Space {args.space} as one commit, serving "
            f"{repo}@{rev or 'main'}; nothing was contacted:"
        )
        for name, data in files.items():
            print(f"  {name:<32} {len(data):>12,} bytes")
        return 0
    result = hub.push_space(args.space, args.model_repo, args.private, args.message)
    print(f"pushed the Space to {result.repo_id}: commit {result.commit_sha}\n{result.url}")
    return 0
