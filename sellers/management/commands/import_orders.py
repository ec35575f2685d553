"""``manage.py import_orders FILE.csv``: import an order file, all of it or nothing (SPEC section 6)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.bounds import excerpt
from sellers.importing import ImportRejected, orders_import

# A path is quoted back whole unless it is longer than any real one.
PATH_EXCERPT_LENGTH = 300

# Files smaller than this import in a blink; a progress bar would only flicker.
PROGRESS_BAR_FROM_BYTES = 1_000_000


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
            if not path.is_file():
                reason = "is a directory" if path.is_dir() else "does not exist"
                raise CommandError(
                    f"{excerpt(file, PATH_EXCERPT_LENGTH)} {reason}; give the path of the order CSV file to import."
                )
            size = path.stat().st_size
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CommandError(
                f"{excerpt(file, PATH_EXCERPT_LENGTH)!r} cannot be opened ({reason}); "
                "give the path of the order CSV file to import."
            ) from None
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
        self.stdout.write(
            f"Imported {path.name}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
        )
