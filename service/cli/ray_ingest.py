"""`footnote ingest --ray [ADDRESS]`: the same ingest with reading, chunking and embedding on a Ray cluster."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter

from index import Collection, FootnoteError, IngestResult, expand_paths
from index.ray_ingest import EmbedderSpec, RayIngest
from service.settings import Settings

# What `ray.init` accepts as an address: HOST:PORT, ray://HOST:PORT (Ray Client), or auto (the cluster that
# `ray start` left on this machine). A bare path after --ray is a mistake worth a clear message.
_ADDRESS = re.compile(r"(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}|auto")


def add_ray_options(ingest: argparse.ArgumentParser) -> None:
    """The ingest command's --ray and --ray-actors options."""
    ingest.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        type=_ray_address,
        metavar="ADDRESS",
        help="read, chunk and embed on a Ray cluster (HOST:PORT, ray://HOST:PORT or auto; without one: RAY_ADDRESS, "
        "else a Ray on this machine). Needs the ray extra. Put it after the paths when giving no address",
    )
    ingest.add_argument(
        "--ray-actors",
        type=_positive_int,
        default=None,
        metavar="N",
        help="embedding actors with --ray (default: one per GPU, else one per CPU of the cluster)",
    )


def ingest_on_ray(collection: Collection, args: argparse.Namespace, settings: Settings) -> list[IngestResult]:
    """Read and embed on the cluster, write here; says on stderr which nodes did the work."""
    from tqdm import tqdm

    paths = expand_paths(args.paths)
    if not paths:
        raise FootnoteError("no supported files found in " + ", ".join(args.paths))
    models = settings.home / "models"  # where the ONNX backends keep their export, as for one process
    spec = EmbedderSpec(settings.embedding_model, backend=settings.embedding_backend, cache_dir=models)
    with RayIngest.connect(args.ray or None) as cluster:
        chunked = cluster.read(
            paths,
            chunking=collection.settings.chunking,
            title_repeats=collection.settings.lexical_title_repeats,
        )
        with tqdm(total=len(chunked), unit="doc", desc="ingest", file=sys.stderr, disable=None) as bar:
            results = cluster.write(collection, chunked, embedder=spec, actors=args.ray_actors, on_progress=bar.update)
        print(
            f"footnote: Ray read {sum(cluster.read_by.values())} documents on {_nodes(cluster.read_by)}; "
            f"{cluster.actors} actors embedded {sum(cluster.embedded_by.values())} passages on "
            f"{_nodes(cluster.embedded_by)}",
            file=sys.stderr,
        )
    return results


def _nodes(work: Counter[str]) -> str:
    listed = ", ".join(f"{node}: {count}" for node, count in sorted(work.items()))
    return f"{len(work)} nodes ({listed})" if work else "0 nodes"


def _ray_address(text: str) -> str:
    # "" is --ray given alone (argparse passes its const through here too): RAY_ADDRESS, else a local Ray.
    if text and not _ADDRESS.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Ray address (HOST:PORT, ray://HOST:PORT or auto); "
            "to use RAY_ADDRESS or a local Ray, put --ray after the paths"
        )
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
