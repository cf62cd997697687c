"""The `anbao` command: serve, migrate, demo, create-user, vapid (and makemigrations for
developers)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.context import TortoiseContext

from backend.db import apply_migrations, bound, make_migrations, open_database, pending_migrations
from backend.errors import AnbaoError
from backend.settings import Settings, load_settings


async def _with_db(settings: Settings, work: Callable[[TortoiseContext], Awaitable[int]]) -> int:
    ctx = await open_database(settings)
    try:
        with bound(ctx):
            return await work(ctx)
    finally:
        await ctx.close_connections()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app, prepare_to_serve
    from backend.http import configure_logging

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = load_settings(**overrides)

    async def check(ctx: TortoiseContext) -> int:
        pending = await pending_migrations(ctx)
        if pending:
            print(
                f"anbao: the database is not migrated ({len(pending)} pending: "
                f"{', '.join(pending)}). Run `anbao migrate` first.",
                file=sys.stderr,
            )
            return 2
        return 0

    status = asyncio.run(_with_db(settings, check))
    if status:
        return status
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    prepare_to_serve()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
        server_header=False,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def work(ctx: TortoiseContext) -> int:
        applied = await apply_migrations(ctx)
        if applied:
            for name in applied:
                print(f"applied {name}")
        else:
            print("the database is up to date")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_makemigrations(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def work(ctx: TortoiseContext) -> int:
        paths = await make_migrations(ctx, args.name)
        for path in paths:
            print(f"wrote {path}")
        if not paths:
            print("no model changes")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_demo(args: argparse.Namespace) -> int:
    from backend.services.demo import (
        DEMO_USERNAMES,
        DemoLogin,
        demo_password,
        is_empty,
        seed_demo,
    )

    settings = load_settings()

    async def work(ctx: TortoiseContext) -> int:
        from backend.models.users import Membership

        if await pending_migrations(ctx):
            print("anbao: run `anbao migrate` before `anbao demo`.", file=sys.stderr)
            return 2
        if await is_empty():
            logins = await seed_demo(settings)
            print("Seeded the demo organization (a community and an office building).")
        else:
            print("The database already has data; the demo was not seeded again.")
            memberships = await Membership.filter(user__username__in=DEMO_USERNAMES).select_related(
                "user", "site"
            )
            logins = [
                DemoLogin(m.user.username, demo_password(m.user.username), m.role, m.site.name)
                for m in memberships
            ]
        if logins:
            print("\nDemo sign-ins (unless someone changed them):")
            print(f"  {'username':<18} {'password':<24} {'role':<11} site")
            for login in logins:
                print(f"  {login.username:<18} {login.password:<24} {login.role:<11} {login.site}")
        return 0

    return asyncio.run(_with_db(settings, work))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("anbao: the passwords differ")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    from backend.models.organizations import Site, Unit
    from backend.models.users import Membership, Role
    from backend.services.users import create_superuser

    settings = load_settings()
    if not args.superuser and args.site_id is None:
        print("anbao: give --site-id and --role, or --superuser", file=sys.stderr)
        return 2
    if args.role == "resident" and args.unit_id is None:
        print("anbao: a resident needs --unit-id", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin)

    async def work(ctx: TortoiseContext) -> int:
        if await pending_migrations(ctx):
            print("anbao: run `anbao migrate` first.", file=sys.stderr)
            return 2
        if args.site_id is not None and not await Site.exists(id=args.site_id):
            print(f"anbao: no site {args.site_id}", file=sys.stderr)
            return 2
        if args.unit_id is not None and not await Unit.exists(
            id=args.unit_id, site_id=args.site_id
        ):
            print(f"anbao: no unit {args.unit_id} at site {args.site_id}", file=sys.stderr)
            return 2
        try:
            user = await create_superuser(
                args.username.strip().lower(),
                args.display_name or args.username,
                password,
                settings,
                superuser=args.superuser,
            )
        except AnbaoError as exc:
            print(f"anbao: {exc.code}: {exc}", file=sys.stderr)
            return 2
        if args.site_id is not None:
            await Membership.create(
                user=user,
                site_id=args.site_id,
                role=Role(args.role or "guard"),
                unit_id=args.unit_id,
            )
        print(f"created user {user.username} (id {user.id})")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_vapid(args: argparse.Namespace) -> int:
    from backend.services.notices import create_vapid_key

    settings = load_settings()

    async def work(ctx: TortoiseContext) -> int:
        if await pending_migrations(ctx):
            print("anbao: run `anbao migrate` first.", file=sys.stderr)
            return 2
        row, made = await create_vapid_key(settings.sealer(), rotate=args.rotate)
        if made:
            print("made a new VAPID key pair (the private key is sealed under the master key)")
        else:
            print("the VAPID key pair exists already (--rotate makes a new one)")
        print(f"public key: {row.public_key}")
        return 0

    return asyncio.run(_with_db(settings, work))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anbao",
        description="Anbao (安保): run a site's security team. Settings come from ANBAO_* "
        "environment variables or a .env file (see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API and the web app")
    serve.add_argument("--host", help="address to listen on (default ANBAO_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default ANBAO_PORT, 8000)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser(
        "demo", help="seed a demo organization if the database is empty, and print its sign-ins"
    )
    demo.set_defaults(func=cmd_demo)

    create = sub.add_parser(
        "create-user",
        help="create an account; the password is read from a prompt or, with --password-stdin, "
        "from standard input, never from an argument",
    )
    create.add_argument("username")
    create.add_argument("--display-name", default="")
    create.add_argument(
        "--superuser", action="store_true", help="platform operator: may do everything"
    )
    create.add_argument("--site-id", type=int, help="give the account a role at this site")
    create.add_argument("--role", choices=["admin", "supervisor", "guard", "resident"])
    create.add_argument("--unit-id", type=int, help="the unit of a resident")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    create.set_defaults(func=cmd_create_user)

    vapid = sub.add_parser(
        "vapid",
        help="make the key pair that signs web push notices (VAPID), once; the private key is "
        "stored sealed under the master key",
    )
    vapid.add_argument(
        "--rotate",
        action="store_true",
        help="make a new pair for new subscriptions; existing ones keep theirs",
    )
    vapid.set_defaults(func=cmd_vapid)

    mk = sub.add_parser("makemigrations", help="(developers) write migrations for model changes")
    mk.add_argument("--name", help="a short name for the migration")
    mk.set_defaults(func=cmd_makemigrations)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
