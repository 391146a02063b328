"""The `townline` command. One module per command group; `common` builds what they share.

serve, worker, chat          bot.cli.serve
export, db, flows            bot.cli.data
db backup, db restore        bot.cli.backup
triage                       bot.cli.triage
staff, token                 bot.cli.staff
retention                    bot.cli.privacy
telegram                     bot.cli.telegram
broadcast                    bot.cli.broadcast
community                    bot.cli.community
partner                      bot.cli.partner
"""

from __future__ import annotations

import click

from bot.cli import (
    backup,
    broadcast,
    community,
    data,
    partner,
    privacy,
    serve,
    staff,
    telegram,
    triage,
)


@click.group()
@click.version_option(package_name="townline", prog_name="townline")
def main() -> None:
    """Townline: a listening-first line between residents and their police agency."""


for command in (
    serve.serve,
    serve.worker,
    serve.chat,
    triage.triage,
    data.export,
    data.db,
    data.flows,
    telegram.telegram,
    staff.staff,
    staff.token,
    broadcast.broadcast,
    privacy.retention,
    community.community,
    partner.partner,
):
    main.add_command(command)
for command in (backup.db_backup, backup.db_restore):
    data.db.add_command(command)
