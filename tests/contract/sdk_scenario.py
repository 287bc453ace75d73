"""A gateway's and an auditor's day through the Python SDK that
openapi-python-client generates from openapi/openapi.json, against the real
server (scripts/contract-tests.sh generates the SDK, starts the server and
sets the environment):

TERMAUDIT_URL            the server
TERMAUDIT_INGEST_TOKEN   a gateway's token (terminal.ingest) in project demo
TERMAUDIT_AUDITOR_TOKEN  view_history, view_recording, download_recording

Every call goes through the generated functions and models, with
raise_on_unexpected_status, so a status the document does not list fails.
"""

import hashlib
import io
import json
import os
import sys
import uuid

from termaudit_client import AuthenticatedClient
from termaudit_client.api.export import export_ndjson
from termaudit_client.api.recordings import download, get_recording, put_chunk
from termaudit_client.api.sessions import (
    append_activity,
    close_session,
    get_session,
    list_activity,
    list_sessions,
    open_session,
)
from termaudit_client.api.targets import create_target
from termaudit_client.models import (
    Activity,
    ActivityBatch,
    ActivityKind,
    ChunkReceipt,
    CloseSession,
    EnvironmentClass,
    ExportRecord,
    GatewayCloseReason,
    NewTarget,
    OpenSession,
    Problem,
    Recording,
    RecordingState,
    RecordType,
    Session,
    SessionMode,
    SessionPage,
    SessionStatus,
    SessionUser,
    TargetKind,
)
from termaudit_client.types import File

PROJECT = "demo"


def expect(value, kind, what):
    if not isinstance(value, kind):
        sys.exit(f"sdk scenario: {what}: expected {kind.__name__}, got {value!r}")
    return value


def check(condition, what):
    if not condition:
        sys.exit(f"sdk scenario: {what}")


def client(token_variable):
    return AuthenticatedClient(
        base_url=os.environ["TERMAUDIT_URL"],
        token=os.environ[token_variable],
        raise_on_unexpected_status=True,
    )


def main():
    gateway = client("TERMAUDIT_INGEST_TOKEN")
    auditor = client("TERMAUDIT_AUDITOR_TOKEN")
    run = uuid.uuid4().hex[:12]
    user = f"sdk-{run}"

    target = create_target.sync(
        PROJECT,
        client=gateway,
        body=NewTarget(
            name=f"sdk-target-{run}",
            kind=TargetKind.APPLICATION,
            environment="prod-sdk",
            environment_class=EnvironmentClass.PRODUCTION,
        ),
    )
    check(not isinstance(target, Problem), f"create_target refused: {target!r}")

    # The gateway opens two sessions for one user; the first is recorded
    # (production) and streams its terminal in two chunks.
    def open_one(reason):
        session = open_session.sync(
            PROJECT,
            client=gateway,
            body=OpenSession(
                target_id=target.id,
                user=SessionUser(subject=user, name="SDK User"),
                mode=SessionMode.SHELL,
                reason=reason,
            ),
        )
        return expect(session, Session, "open_session")

    first = open_one("INC-1: through the generated SDK")
    check(first.recorded and first.status == SessionStatus.ACTIVE, f"first session: {first!r}")

    chunks = [
        b'{"version": 2, "width": 80, "height": 24}\n'
        b'[0.25, "o", "$ ls\\r\\n"]\n'
        b'[0.5, "m", "mark\\u0000er"]\n',
        b'[1.0, "o", "README.md\\r\\n"]\n[1.5, "o", "$ exit\\r\\n"]\n',
    ]
    for seq, body in enumerate(chunks):
        receipt = put_chunk.sync(
            PROJECT,
            first.id,
            seq,
            client=gateway,
            body=File(payload=io.BytesIO(body), mime_type="application/octet-stream"),
        )
        expect(receipt, ChunkReceipt, f"put_chunk {seq}")
        check(receipt.seq == seq and not receipt.repeated, f"chunk {seq}: {receipt!r}")

    appended = append_activity.sync(
        PROJECT,
        first.id,
        client=gateway,
        body=ActivityBatch(
            items=[
                Activity(
                    event_id=f"{run}-1",
                    kind=ActivityKind.COMMAND,
                    text="ls",
                    occurred_at=first.opened_at,
                    exit_code=0,
                    duration_ms=12,
                )
            ]
        ),
    )
    check(not isinstance(appended, Problem) and appended.stored == 1, f"activity: {appended!r}")

    closed = close_session.sync(
        PROJECT, first.id, client=gateway, body=CloseSession(reason=GatewayCloseReason.USER_EXIT)
    )
    expect(closed, Session, "close_session")
    second = open_one("INC-2: the next page")
    expect(
        close_session.sync(
            PROJECT,
            second.id,
            client=gateway,
            body=CloseSession(reason=GatewayCloseReason.USER_EXIT),
        ),
        Session,
        "close the second session",
    )

    # The auditor lists the user's closed sessions a page at a time.
    seen = []
    cursor = None
    while True:
        kwargs = {"cursor": cursor} if cursor else {}
        page = list_sessions.sync(
            PROJECT, client=auditor, user=user, status=SessionStatus.CLOSED, limit=1, **kwargs
        )
        expect(page, SessionPage, "list_sessions")
        seen.extend(s.id for s in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    check(seen == [second.id, first.id], f"pages: {seen} (newest first)")

    session = expect(get_session.sync(PROJECT, first.id, client=auditor), Session, "get_session")
    check(session.status == SessionStatus.CLOSED, f"status {session.status}")
    check(session.close_reason is not None and session.close_reason.value == "user_exit", "reason")

    activity = list_activity.sync(PROJECT, first.id, client=auditor)
    check(not isinstance(activity, Problem), f"list_activity: {activity!r}")
    check([a.text for a in activity.items] == ["ls"], f"activity: {activity.items}")
    check(activity.items[0].kind == ActivityKind.COMMAND, "activity kind")

    recording = get_recording.sync(PROJECT, first.id, client=auditor)
    expect(recording, Recording, "get_recording")
    check(recording.state == RecordingState.AVAILABLE, f"recording state {recording.state}")
    labels = [m.label for m in recording.markers]
    check("mark\ufffder" in labels, f"the NUL marker shows as U+FFFD in the summary: {labels}")

    cast = download.sync(PROJECT, first.id, client=auditor)
    expect(cast, File, "download")
    data = cast.payload.read()
    check(hashlib.sha256(data).hexdigest() == recording.sha256, "the download's SHA-256")
    lines = data.decode().splitlines()
    check(json.loads(lines[0])["version"] == 2, f"header {lines[0]}")
    check(json.dumps("mark\u0000er") in data.decode(), "the marker keeps its U+0000")

    exported = export_ndjson.sync(PROJECT, client=auditor, user=user)
    expect(exported, File, "export_ndjson")
    records = [
        ExportRecord.from_dict(json.loads(line))
        for line in exported.payload.read().decode().splitlines()
    ]
    sessions = {r.session_id for r in records if r.record_type == RecordType.SESSION}
    check(sessions == {first.id, second.id}, f"exported sessions: {sessions}")
    check(all(r.user == user for r in records), "every record is the user's")

    print(
        f"sdk scenario: 2 sessions, 2 chunks, {len(seen)} pages, {len(data)} bytes of .cast, "
        f"{len(records)} NDJSON records: ok"
    )


if __name__ == "__main__":
    main()
