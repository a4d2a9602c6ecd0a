// The TypeScript client's end-to-end run against a real phoneapi server:
// create a contact, a person and five phones, read a phone, list the phones
// two a page following links.next (checking meta.pagination and links),
// update a phone with the updated_in_db_at precondition, get a 409 with the
// stale value (and meta.updated_in_db_at, the stored one), delete the phone
// (then 404) and the contact. Every step goes through createPhoneapiClient
// and prints one line with its status; any other outcome fails the run.
//
// Usage: PHONEAPI_TS_E2E_URL=http://127.0.0.1:8080 PHONEAPI_TS_E2E_TOKEN=... node dist/e2e/e2e.js
// (e2e.TestTypeScriptClient compiles and runs it against the server under
// test.) Exits 0 after printing "ts-e2e: ok", 1 with what did not hold, 2 on
// a usage error. A response carrying Prism's sl-violations header is a
// failure too.
import { createPhoneapiClient, type Phone, type PhoneListDocument } from "../src/index.js";

const base = process.env.PHONEAPI_TS_E2E_URL ?? "";
const token = process.env.PHONEAPI_TS_E2E_TOKEN ?? "";
if (!base || !token) {
  console.error("usage: PHONEAPI_TS_E2E_URL=BASE_URL PHONEAPI_TS_E2E_TOKEN=TOKEN node dist/e2e/e2e.js");
  process.exit(2);
}

class CheckError extends Error {}

function check(ok: boolean, msg: string): asserts ok {
  if (!ok) throw new CheckError(msg);
}

// must returns v after checking it is there (attributes are optional in the
// types because of sparse fieldsets; a full read has them all).
function must<T>(v: T | undefined | null, what: string): T {
  check(v !== undefined && v !== null, `${what} is missing`);
  return v;
}

// step prints one step's outcome after checking its status.
function step(what: string, response: Response, want: number, detail = ""): void {
  const violations = response.headers.get("sl-violations");
  check(!violations, `${what}: Prism reports contract violations: ${violations}`);
  check(response.status === want, `${what}: status ${response.status}, want ${want}`);
  const ct = response.headers.get("content-type") ?? "";
  check(want === 204 || want === 304 || ct.startsWith("application/vnd.api+json"), `${what}: Content-Type ${ct}`);
  console.log(`ok ${response.status} ${what}${detail ? ": " + detail : ""}`);
}

const client = createPhoneapiClient({ baseUrl: base, token: () => token });

async function main(): Promise<void> {
  const tag = new Date().toISOString();

  // Create.
  const c = await client.POST("/api/v2/contacts", {
    body: { data: { type: "contacts", attributes: { name: `ts client e2e ${tag}` } } },
  });
  step("POST /api/v2/contacts", c.response, 201);
  const contact = must(c.data, "created contact").data;
  const contactId = contact.id;

  const p = await client.POST("/api/v2/contacts/{contact_id}/people", {
    params: { path: { contact_id: contactId } },
    body: { data: { type: "people", attributes: { first_name: "Ada", last_name: "Lovelace" } } },
  });
  step("POST /api/v2/contacts/{contact_id}/people", p.response, 201);
  const personId = must(p.data, "created person").data.id;
  const path = { contact_id: contactId, person_id: personId };

  const created: Phone[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await client.POST("/api/v2/contacts/{contact_id}/people/{person_id}/phones", {
      params: { path },
      body: {
        data: {
          type: "phone_numbers",
          attributes: { number: `(617) 555-01${10 + i}`, location: "mobile", primary: i === 0 },
        },
      },
    });
    const phone = must(r.data, `created phone ${i + 1}`).data;
    step(`POST .../phones (${i + 1} of 5)`, r.response, 201, `${phone.id} ${phone.attributes.number}`);
    check(phone.attributes.number === `+161755501${10 + i}`, `phone ${i + 1}: number ${phone.attributes.number}`);
    created.push(phone);
  }
  const first = must(created[0], "first phone");

  // Read.
  const g = await client.GET("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
  });
  step("GET .../phones/{id}", g.response, 200, `etag ${g.response.headers.get("etag")}`);
  const read = must(g.data, "read phone").data;
  check(read.id === first.id, `read phone ${read.id}, want ${first.id}`);
  check(read.attributes.primary === true, `read phone: primary ${read.attributes.primary}, want true`);
  const stamp = must(read.attributes.updated_in_db_at, "read phone's updated_in_db_at");

  // List, two a page, following links.next.
  const listed: string[] = [];
  let page: number | undefined = 1;
  let pages = 0;
  while (page !== undefined) {
    const current: number = page;
    const l = await client.GET("/api/v2/contacts/{contact_id}/people/{person_id}/phones", {
      params: { path, query: { page: current, per_page: 2 } },
    });
    const doc: PhoneListDocument = must(l.data, `list page ${page}`);
    const pg = doc.meta.pagination;
    step(
      `GET .../phones?page=${page}&per_page=2`,
      l.response,
      200,
      `${doc.data.length} phones, page ${pg.page} of ${pg.total_pages}, total ${pg.total_count}, next ${doc.links.next ?? "(none)"}`,
    );
    check(pg.total_count === 5 && pg.total_pages === 3 && pg.per_page === 2, `pagination ${JSON.stringify(pg)}`);
    check(pg.page === page, `pagination.page ${pg.page}, want ${page}`);
    check(doc.data.length === (page < 3 ? 2 : 1), `page ${page} holds ${doc.data.length} phones`);
    check((doc.links.prev !== undefined) === page > 1, `page ${page}: links.prev ${doc.links.prev}`);
    check(new URL(doc.links.last, base).searchParams.get("page") === "3", `links.last ${doc.links.last}`);
    listed.push(...doc.data.map((ph) => ph.id));
    pages++;
    const next: string | undefined = doc.links.next;
    page = next === undefined ? undefined : Number(new URL(next, base).searchParams.get("page"));
    check(page === undefined || page === pg.page + 1, `links.next ${next} after page ${pg.page}`);
  }
  const want = created.map((ph) => ph.id);
  check(pages === 3, `followed ${pages} pages, want 3`);
  check(JSON.stringify(listed) === JSON.stringify(want), `listed ${listed}, want the created phones in order ${want}`);

  // Update with the precondition.
  const u = await client.PATCH("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
    body: { data: { type: "phone_numbers", attributes: { location: "work", updated_in_db_at: stamp } } },
  });
  const updated = must(u.data, "updated phone").data;
  const newStamp = must(updated.attributes.updated_in_db_at, "updated phone's updated_in_db_at");
  step("PATCH .../phones/{id} (updated_in_db_at current)", u.response, 200, `location ${updated.attributes.location}, updated_in_db_at ${stamp} -> ${newStamp}`);
  check(updated.attributes.location === "work", `updated location ${updated.attributes.location}, want work`);
  check(newStamp !== stamp, `updated_in_db_at did not change (${newStamp})`);

  // The same precondition again is stale now: 409, nothing saved.
  const s = await client.PATCH("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
    body: { data: { type: "phone_numbers", attributes: { location: "home", updated_in_db_at: stamp } } },
  });
  const conflict = must(s.error, "409 error document").errors[0];
  const stored = conflict?.meta?.["updated_in_db_at"];
  step("PATCH .../phones/{id} (updated_in_db_at stale)", s.response, 409, `${conflict?.title}; meta.updated_in_db_at ${stored}`);
  check(stored === newStamp, `409 meta.updated_in_db_at ${stored}, want ${newStamp}`);
  const after = await client.GET("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
  });
  step("GET .../phones/{id} after the 409", after.response, 200, `location ${after.data?.data.attributes.location}`);
  check(after.data?.data.attributes.location === "work", "the stale update was saved");

  // Delete.
  const d = await client.DELETE("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
  });
  step("DELETE .../phones/{id}", d.response, 204);
  const gone = await client.GET("/api/v2/contacts/{contact_id}/people/{person_id}/phones/{id}", {
    params: { path: { ...path, id: first.id } },
  });
  step("GET .../phones/{id} after DELETE", gone.response, 404, gone.error?.errors[0]?.detail ?? "");
  const dc = await client.DELETE("/api/v2/contacts/{contact_id}", { params: { path: { contact_id: contactId } } });
  step("DELETE /api/v2/contacts/{contact_id}", dc.response, 204);

  console.log(`ts-e2e: ok (openapi-fetch client, ${want.length} phones over ${pages} pages)`);
}

main().catch((err: unknown) => {
  if (err instanceof CheckError) {
    console.error(`ts-e2e: FAIL: ${err.message}`);
  } else {
    console.error("ts-e2e: error:", err);
  }
  process.exit(1);
});
