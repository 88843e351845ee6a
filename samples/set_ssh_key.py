#!/usr/bin/env python3
"""Install the SSH key from the server context into ~/.ssh/authorized_keys.

Run it inside a CloudSigma VM: it reads the server's meta key ``ssh_public_key`` over the
context serial port and appends each key that is not in authorized_keys yet, so running it
again changes nothing. ~/.ssh is kept at mode 0700 and authorized_keys at mode 0600.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cloudsigma

META_KEY_PATH = "/meta/ssh_public_key"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        help="serial device that serves the server context "
        "(default: $CLOUDSIGMA_SERIAL_DEVICE, else /dev/ttyS1)",
    )
    parser.add_argument(
        "--home", type=Path, help="home directory whose .ssh to use (default: your home)"
    )
    parser.add_argument(
        "--authorized-keys",
        type=Path,
        help="the authorized_keys file to update (default: HOME/.ssh/authorized_keys)",
    )
    return parser.parse_args(argv)


def read_context_keys(device: str | None) -> list[str]:
    """The public keys in the server's meta ``ssh_public_key``, one a line; [] if unset."""
    reader = cloudsigma.metadata.GetServerMetadata(device=device)
    value = reader.get(META_KEY_PATH)
    if not isinstance(value, str):
        return []
    return [line.strip() for line in value.splitlines() if line.strip()]


def key_identity(line: str) -> tuple[str, ...]:
    """What makes two key lines the same key: the key type and its base64 blob.

    Options before the type and the comment after the blob do not count.
    """
    fields = line.split()
    for index, field in enumerate(fields[:-1]):
        if field.startswith(("ssh-", "ecdsa-", "sk-")):
            return (field, fields[index + 1])
    return tuple(fields)


def missing_keys(keys: list[str], existing_text: str) -> list[str]:
    """The keys not yet in ``existing_text`` (an authorized_keys file), in order, once each."""
    present = {
        key_identity(line)
        for line in existing_text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    to_add = []
    for key in keys:
        identity = key_identity(key)
        if identity not in present:
            present.add(identity)
            to_add.append(key)
    return to_add


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, readable by its owner only."""
    fd, temp_name = tempfile.mkstemp(prefix=".authorized_keys.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as temp_file:
            temp_file.write(text)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        os.unlink(temp_name)
        raise


def install_keys(keys: list[str], authorized_keys: Path, ssh_dir: Path | None) -> list[str]:
    """Add the missing ``keys`` to ``authorized_keys``; return the ones added.

    :param ssh_dir: a directory to hold at mode 0700 (``~/.ssh``), or None to leave alone.
    """
    authorized_keys.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if ssh_dir is not None:
        os.chmod(ssh_dir, 0o700)
    existing = authorized_keys.read_text(encoding="utf-8") if authorized_keys.exists() else ""
    added = missing_keys(keys, existing)
    if added:
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        write_private(authorized_keys, prefix + "".join(f"{key}\n" for key in added))
    elif authorized_keys.exists():
        os.chmod(authorized_keys, 0o600)
    return added


def target_paths(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The authorized_keys file, and the .ssh directory whose mode we own (if any)."""
    if args.authorized_keys:
        return args.authorized_keys, None
    home = args.home or Path.home()
    return home / ".ssh" / "authorized_keys", home / ".ssh"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    authorized_keys, ssh_dir = target_paths(args)
    keys = read_context_keys(args.device)
    if not keys:
        print(
            "This server has no SSH key in its context: set the meta key 'ssh_public_key' "
            "on the server (for example in the web app or with Server().update) and run again.",
            file=sys.stderr,
        )
        return 1
    added = install_keys(keys, authorized_keys, ssh_dir)
    for key in added:
        print(f"added {key_identity(key)[0]} key to {authorized_keys}")
    if not added:
        print(f"{authorized_keys} already has the server's SSH key; nothing to do")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cloudsigma.errors.ApiClientError as exc:
        sys.exit(f"error: {exc}")
    except OSError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)
