"""``eostation users``: password users of the server (HTTP Basic and the token endpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eostation.cli_options import DataDir, console, settings_for

if TYPE_CHECKING:
    from eostation.users import UserStore

__all__ = ["users_app"]

users_app = typer.Typer(
    help="Manage password users (HTTP Basic authentication).", no_args_is_help=True
)


def _store(data_dir: Path | None) -> UserStore:
    from eostation.migrations import open_database
    from eostation.users import UserStore

    return UserStore(open_database(settings_for(data_dir).db_url))


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="Login name (letters, digits, _ - . ~).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Password (prompted if omitted).",
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user, or set a new password for an existing one."""
    from eostation.errors import OpenEOError

    store = _store(data_dir)
    try:
        store.add(user_id, password, name=name)
    except OpenEOError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    typer.echo(f"user '{user_id}' saved")


@users_app.command("passwd")
def users_passwd(
    user_id: Annotated[str, typer.Argument(help="Login name of an existing user.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            help="New password (prompted if omitted).",
        ),
    ],
    data_dir: DataDir = None,
) -> None:
    """Change a user's password; every token issued before stops working."""
    from eostation.errors import OpenEOError

    store = _store(data_dir)
    existing = store.get(user_id)
    if existing is None:
        console.print(f"[red]error:[/red] no user '{user_id}' (create it with 'users add')")
        raise typer.Exit(1)
    try:
        store.add(user_id, password, name=existing.name)
    except OpenEOError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    typer.echo(f"password of '{user_id}' changed; its old tokens are revoked")


@users_app.command("remove")
def users_remove(user_id: str, data_dir: DataDir = None) -> None:
    """Delete a user."""
    if not _store(data_dir).remove(user_id):
        console.print(f"[red]error:[/red] no user '{user_id}'")
        raise typer.Exit(1)
    typer.echo(f"user '{user_id}' removed")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List users."""
    for user in _store(data_dir).list():
        typer.echo(f"{user.user_id}\t{user.name or ''}")
