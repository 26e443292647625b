"""`push`: a bundle uploaded to a Hub model repo as one commit (or, with --dry-run, the list of what would be)."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.commands.common import repo_id_arg
from serving.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    h = sub.add_parser("push", help="upload a bundle to a Hub model repo as one commit")
    h.add_argument("--bundle", required=True, help="bundle folder, e.g. exported/mnist-cdcgan")
    h.add_argument("--repo", required=True, type=repo_id_arg, help="USER/NAME")
    h.add_argument(
        "--space",
        default=None,
        type=repo_id_arg,
        help="USER/SPACE: the Space serving this model (push-space), named by the card's API snippet; "
        "without it the card has no Space section",
    )
    h.add_argument("--private", action="store_true", help="create the repo private")
    h.add_argument("--message", default=None, help="commit message")
    h.add_argument("--dry-run", action="store_true", help="list what would be uploaded, contact nothing")
    h.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from serving.publish import hub

    bundle = Path(args.bundle)
    if not (bundle / "config.json").is_file():
        raise InputError(f"--bundle {bundle} is not a bundle folder (no config.json)")
    files = hub.bundle_files(bundle)
    if args.dry_run:
        print(
            f"would upload {len(files)} files ({sum(n for _, n in files) / 1e6:.2f} MB) to model repo {args.repo} "
            f"({'private' if args.private else 'public'}) as one commit; nothing was contacted:"
        )
        for name, size in files:
            print(f"  {name:<32} {size:>12,} bytes")
        return 0
    result = hub.push_bundle(bundle, args.repo, args.private, args.message, args.space or "")
    print(f"pushed {bundle} to {result.repo_id}: commit {result.commit_sha}\n{result.url}")
    print(f'pin it: Generator.from_pretrained("{result.repo_id}", revision="{result.commit_sha}")')
    return 0
