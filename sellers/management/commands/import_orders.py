"""``manage.py import_orders FILE.csv``: import an order file, all of it or nothing (SPEC section 6)."""

from __future__ import annotations

import stat
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from portal.bounds import excerpt
from sellers.importing import ImportFailed, ImportRejected, orders_import

# A path is quoted back whole unless it is longer than any real one.
PATH_EXCERPT_LENGTH = 300

# Files smaller than this import in a blink; a progress bar would only flicker.
PROGRESS_BAR_FROM_BYTES = 1_000_000
# What a path that exists but is no regular file is, e.g. /dev/null.
NOT_REGULAR = (
    (stat.S_ISCHR, gettext_lazy("a character device")),
    (stat.S_ISBLK, gettext_lazy("a block device")),
    (stat.S_ISFIFO, gettext_lazy("a named pipe")),
    (stat.S_ISSOCK, gettext_lazy("a socket")),
)


class Command(BaseCommand):
    help = (
        "Import orders from a CSV file (SPEC section 6). The whole file is checked first: "
        "if any row is invalid, nothing is imported and every problem is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the order CSV file, UTF-8 with a header row")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        try:
            status = path.stat()
        except FileNotFoundError:
            raise CommandError(
                f"{excerpt(file, PATH_EXCERPT_LENGTH)} does not exist; give the path of the order CSV file to import."
            ) from None
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CommandError(
                f"{excerpt(file, PATH_EXCERPT_LENGTH)!r} cannot be opened ({reason}); "
                "give the path of the order CSV file to import."
            ) from None
        if stat.S_ISDIR(status.st_mode):
            raise CommandError(
                f"{excerpt(file, PATH_EXCERPT_LENGTH)} is a directory; give the path of the order CSV file to import."
            )
        if not stat.S_ISREG(status.st_mode):
            kind = next((kind for is_kind, kind in NOT_REGULAR if is_kind(status.st_mode)), _("something else"))
            raise CommandError(
                _("%(file)s is %(kind)s, not a regular file; give the path of the order CSV file to import.")
                % {"file": excerpt(file, PATH_EXCERPT_LENGTH), "kind": kind}
            )
        size = status.st_size
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"Importing {path.name}",
            # The bar redraws its line with carriage returns: write past the wrapper's newlines.
            file=self.stderr._out,
            disable=size < PROGRESS_BAR_FROM_BYTES or options["verbosity"] == 0,
        ) as bar:

            def progress(bytes_read: int, total_bytes: int) -> None:
                bar.update(bytes_read - bar.n)
                if bytes_read >= total_bytes:
                    # Reading is done; merging a long file into the orders still takes a while.
                    bar.set_postfix_str("file checked, writing orders")

            try:
                result = orders_import(path=path, progress=progress)
            except ImportRejected as rejected:
                bar.close()
                for line in rejected.lines():
                    self.stderr.write(line)
                count = len(rejected.problems) + rejected.unlisted
                problems = "1 problem; fix it" if count == 1 else f"{count} problems; fix them"
                raise CommandError(
                    f"Nothing was imported: {path.name} has {problems} and import the file again."
                ) from None
            except ImportFailed as failed:
                bar.close()
                raise CommandError(str(failed)) from None
        self.stdout.write(
            f"Imported {path.name}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
        )
