// A small client of the termaudit API, type-checked (`tsc --noEmit`)
// against the types openapi-typescript generates from openapi/openapi.json
// (scripts/contract-tests.sh writes them to termaudit.d.ts beside this
// file). A change to the document that breaks a client like this one
// fails the check.
import createClient from "openapi-fetch";
import type { components, paths } from "./termaudit";

type Session = components["schemas"]["Session"];
type SessionMode = components["schemas"]["SessionMode"];
type ExportRecord = components["schemas"]["ExportRecord"];

export function termaudit(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

type Client = ReturnType<typeof termaudit>;

/** A gateway opens a session, uploads its first chunk and closes it. */
export async function recordOne(api: Client, project: string, targetId: string): Promise<Session> {
  const mode: SessionMode = "shell";
  const opened = await api.POST("/api/v1/projects/{project}/sessions", {
    params: { path: { project } },
    body: { target_id: targetId, user: { subject: "alice", name: "Alice" }, mode, reason: "INC-1" },
  });
  if (opened.error) throw new Error(`${opened.error.status} ${opened.error.detail}`);
  const session: Session = opened.data;
  const chunk = await api.PUT("/api/v1/projects/{project}/sessions/{id}/recording/chunks/{seq}", {
    params: { path: { project, id: session.id, seq: 0 } },
    body: '{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "$ "]\n',
    bodySerializer: (body) => body,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (chunk.error) throw new Error(chunk.error.detail);
  const closed = await api.POST("/api/v1/projects/{project}/sessions/{id}/close", {
    params: { path: { project, id: session.id } },
    body: { reason: "user_exit" },
  });
  if (closed.error) throw new Error(closed.error.detail);
  return closed.data;
}

/** Every closed session of a user, following the cursor. */
export async function closedSessions(api: Client, project: string, user: string): Promise<Session[]> {
  const sessions: Session[] = [];
  let cursor: string | undefined;
  do {
    const query = cursor === undefined ? { user, status: "closed" as const, limit: 50 } : { user, status: "closed" as const, limit: 50, cursor };
    const page = await api.GET("/api/v1/projects/{project}/sessions", { params: { path: { project }, query } });
    if (page.error) throw new Error(page.error.detail);
    sessions.push(...page.data.items);
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return sessions;
}

/** The export as JSON: typed records, with enums for their kinds. */
export async function exportJson(api: Client, project: string): Promise<ExportRecord[]> {
  const exported = await api.GET("/api/v1/projects/{project}/export.json", {
    params: { path: { project }, query: { include: ["sessions", "database_events"] } },
  });
  if (exported.error) throw new Error(exported.error.detail);
  const records: ExportRecord[] = exported.data;
  const kinds: Array<"session" | "terminal_event" | "database_event"> = records.map((r) => r.record_type);
  return kinds.length === records.length ? records : [];
}

/** The recording's summary and its `.cast` as bytes. */
export async function downloadCast(api: Client, project: string, id: string): Promise<Blob> {
  const summary = await api.GET("/api/v1/projects/{project}/sessions/{id}/recording", {
    params: { path: { project, id } },
  });
  if (summary.error) throw new Error(summary.error.detail);
  const state: "recording" | "available" | "purged" | "not_recorded" = summary.data.state;
  if (state !== "available") throw new Error(`the recording is ${state}`);
  const cast = await api.GET("/api/v1/projects/{project}/sessions/{id}/recording/download", {
    params: { path: { project, id } },
    parseAs: "blob",
  });
  if (cast.error) throw new Error(cast.error.detail);
  return cast.data;
}
