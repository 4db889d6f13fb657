"""What an S3 server spends to copy an object within itself, against a PUT.

Not one of the measures (no target): a probe run by hand before leaning on a
server-side copy, ``python -m bench.server_copy [--rounds N]``. It starts a
``weed mini`` of its own on loopback (as the integration tests do), writes
4 × 50 MiB of random bytes the way the S3 writer does (multipart, 8 MiB parts,
each with its SHA-256), then, in turn each round, makes the same four objects
again by:

- a multipart PUT as above (what an ingest writes today);
- CopyObject asked for a SHA-256 (``ChecksumAlgorithm``);
- UploadPartCopy, 8 MiB ranges, and one range of the whole object;
- CopyObject, then a GET of the copy hashed with SHA-256 on the client (the
  check ``ingest.replication.copy_checked`` makes).

and reports the CPU the server process spent per MiB (``/proc/PID/stat``) and
the client's own. It also shows which checksums each kind of copy answers with,
and whether a copy keeps its bytes once its source is deleted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
COUNT, SIZE, PART = 4, 50 * MiB, 8 * MiB


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds

    from tests.integration.services import SeaweedServer

    with tempfile.TemporaryDirectory() as folder, SeaweedServer(Path(folder)) as server:
        client = server.endpoint.client()
        bucket = "server-copy"
        client.create_bucket(Bucket=bucket)
        data = [os.urandom(SIZE) for _ in range(COUNT)]

        def put(tag: str) -> None:
            for n, body in enumerate(data):
                key = f"{tag}/{n}"
                upload = client.create_multipart_upload(Bucket=bucket, Key=key,
                                                        ChecksumAlgorithm="SHA256")
                parts = []
                for number, start in enumerate(range(0, SIZE, PART), 1):
                    part = body[start:start + PART]
                    checksum = _b64(hashlib.sha256(part).digest())
                    answer = client.upload_part(Bucket=bucket, Key=key, PartNumber=number,
                                                UploadId=upload["UploadId"], Body=part,
                                                ChecksumSHA256=checksum)
                    parts.append({"PartNumber": number, "ETag": answer["ETag"],
                                  "ChecksumSHA256": checksum})
                client.complete_multipart_upload(Bucket=bucket, Key=key,
                                                 UploadId=upload["UploadId"],
                                                 MultipartUpload={"Parts": parts})

        def copy(tag: str) -> None:
            for n in range(COUNT):
                client.copy_object(Bucket=bucket, Key=f"{tag}/{n}", ChecksumAlgorithm="SHA256",
                                   CopySource={"Bucket": bucket, "Key": f"source/{n}"})

        def part_copy(tag: str, size: int) -> None:
            for n in range(COUNT):
                key = f"{tag}/{n}"
                upload = client.create_multipart_upload(Bucket=bucket, Key=key,
                                                        ChecksumAlgorithm="SHA256")
                parts = []
                for number, start in enumerate(range(0, SIZE, size), 1):
                    answer = client.upload_part_copy(
                        Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                        CopySource={"Bucket": bucket, "Key": f"source/{n}"},
                        CopySourceRange=f"bytes={start}-{min(start + size, SIZE) - 1}")
                    result = answer["CopyPartResult"]
                    parts.append({"PartNumber": number, "ETag": result["ETag"],
                                  "ChecksumSHA256": result["ChecksumSHA256"]})
                client.complete_multipart_upload(Bucket=bucket, Key=key,
                                                 UploadId=upload["UploadId"],
                                                 MultipartUpload={"Parts": parts})

        def copy_and_read_back(tag: str) -> None:
            for n in range(COUNT):
                client.copy_object(Bucket=bucket, Key=f"{tag}/{n}",
                                   CopySource={"Bucket": bucket, "Key": f"source/{n}"})
                body = client.get_object(Bucket=bucket, Key=f"{tag}/{n}")["Body"]
                sha256 = hashlib.sha256()
                while chunk := body.read(MiB):
                    sha256.update(chunk)
                assert sha256.digest() == hashlib.sha256(data[n]).digest()

        pid = server.pid
        assert pid is not None
        put("source")
        sides: dict[str, Callable[[str], None]] = {
            "multipart PUT, 8 MiB parts with SHA-256": put,
            "CopyObject (ChecksumAlgorithm=SHA256)": copy,
            "UploadPartCopy, 8 MiB ranges": lambda tag: part_copy(tag, PART),
            "UploadPartCopy, one range": lambda tag: part_copy(tag, SIZE),
            "CopyObject + GET of the copy + SHA-256": copy_and_read_back,
        }
        seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
        mib = COUNT * SIZE / MiB
        for index in range(rounds):
            for number, (name, side) in enumerate(sides.items()):
                server_before, own_before, start = _server_cpu(pid), _own_cpu(), time.perf_counter()
                side(f"side{number}-round{index}")
                seen[name].append(((_server_cpu(pid) - server_before) * 1000 / mib,
                                   (_own_cpu() - own_before) * 1000 / mib,
                                   time.perf_counter() - start))
        print(f"{COUNT} x {SIZE // MiB} MiB per side, {rounds} rounds; CPU ms per MiB "
              f"(server; client) and wall seconds, per round:")
        for name, runs in seen.items():
            print(f"  {name}: server {', '.join(f'{s:.2f}' for s, _, _ in runs)}; client "
                  f"{', '.join(f'{c:.2f}' for _, c, _ in runs)}; wall "
                  f"{', '.join(f'{w:.2f}' for _, _, w in runs)}")
        _checksums(client, bucket, data[0])


def _checksums(client: Any, bucket: str, body: bytes) -> None:
    """Which checksum each kind of copy answers with, from a source with none of SHA-256."""
    client.put_object(Bucket=bucket, Key="plain", Body=body[:20 * MiB])
    answer = client.copy_object(Bucket=bucket, Key="plain-copy", ChecksumAlgorithm="SHA256",
                                CopySource={"Bucket": bucket, "Key": "plain"})
    head = client.head_object(Bucket=bucket, Key="plain-copy", ChecksumMode="ENABLED")
    print("CopyObject of an object without a SHA-256, asked for one: answer",
          {k: v for k, v in answer["CopyObjectResult"].items() if k.startswith("Checksum")},
          "; HEAD of the copy", {k: v for k, v in head.items() if k.startswith("Checksum")})
    upload = client.create_multipart_upload(Bucket=bucket, Key="plain-parts",
                                            ChecksumAlgorithm="SHA256")
    answer = client.upload_part_copy(Bucket=bucket, Key="plain-parts", UploadId=upload["UploadId"],
                                     PartNumber=1, CopySource={"Bucket": bucket, "Key": "plain"},
                                     CopySourceRange=f"bytes=0-{PART - 1}")
    client.abort_multipart_upload(Bucket=bucket, Key="plain-parts", UploadId=upload["UploadId"])
    print("UploadPartCopy of its first 8 MiB: SHA-256 answered",
          answer["CopyPartResult"].get("ChecksumSHA256"), "; SHA-256 of those bytes",
          _b64(hashlib.sha256(body[:PART]).digest()))
    client.delete_object(Bucket=bucket, Key="plain")
    kept = client.get_object(Bucket=bucket, Key="plain-copy")["Body"].read() == body[:20 * MiB]
    print("the copy's bytes once its source is deleted:", "intact" if kept else "LOST")


if __name__ == "__main__":
    main()
