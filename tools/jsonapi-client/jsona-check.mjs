#!/usr/bin/env node
// jsona-check: drives a running phoneapi with jsona (https://github.com/olosegres/jsona),
// a JSON:API client library nobody here wrote, pinned in tools/package.json
// and installed by `make tools`. It proves that what a stock client sends is
// accepted and that what the server returns links up in the client:
//
//  1. Create bodies are jsona.serialize({stuff, includeNames}) output, sent
//     as they are: a contact, two people whose `contact` relationship is
//     the (deserialised) contact, and phones whose `person` relationship is
//     their (deserialised) person — two phones for the first person, one
//     for the second.
//  2. GET /api/v2/contacts/{cid}/people/{pid}?include=phone_numbers,contact
//     and GET /api/v2/contacts/people?include=phone_numbers,contact are
//     deserialised with jsona into linked objects: the person's
//     `phone_numbers` must be objects (resolved from `included`) with the
//     right numbers, its `contact` an object with the right name, each
//     phone's `person` the person, and every person of the list linked to
//     its own phones only.
//  3. The contact is deleted (with its people and phones).
//
// Usage: node tools/jsonapi-client/jsona-check.mjs [BASE_URL [TOKEN]]
//   BASE_URL (or JSONA_CHECK_URL): the server, e.g. http://127.0.0.1:8080
//   TOKEN (or JSONA_CHECK_TOKEN, which keeps it out of the process list):
//   a bearer token, e.g. from `bin/phoneapi token`.
// Exits 0 with a short summary, 1 with a message saying what did not hold,
// 2 on a usage error. A response carrying Prism's sl-violations header (make
// contract runs this through a validating proxy) is a failure too.
import { readFileSync } from 'node:fs';
import Jsona from 'jsona';

const MEDIA = 'application/vnd.api+json';

const base = (process.argv[2] ?? process.env.JSONA_CHECK_URL ?? '').replace(/\/+$/, '');
const token = process.argv[3] ?? process.env.JSONA_CHECK_TOKEN ?? '';
if (!base || !token) {
  console.error('usage: node jsona-check.mjs BASE_URL [TOKEN]  (or JSONA_CHECK_URL and JSONA_CHECK_TOKEN)');
  process.exit(2);
}
const jsonaVersion = JSON.parse(
  readFileSync(new URL('../node_modules/jsona/package.json', import.meta.url), 'utf8'),
).version;

class CheckError extends Error {}
const fail = (msg) => {
  throw new CheckError(msg);
};
const check = (ok, msg) => ok || fail(msg);
// show is v as JSON for a message; jsona's models link both ways (a phone's
// person lists the phone), so an object met again is shown as type/id.
const show = (v) => {
  const seen = new WeakSet();
  return JSON.stringify(v, (_, x) => {
    if (x === null || typeof x !== 'object') return x;
    if (seen.has(x)) return `[${x.type}/${x.id}]`;
    seen.add(x);
    return x;
  });
};

// request sends method path (with body, a JSON:API document, when given),
// requires the status want and a JSON:API response, and returns the parsed
// body (null for 204).
async function request(method, path, want, body) {
  const headers = { Accept: MEDIA, Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = MEDIA;
  let resp;
  try {
    resp = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    fail(`${method} ${path}: ${err.cause?.message ?? err.message}`);
  }
  const text = await resp.text();
  const violations = resp.headers.get('sl-violations');
  check(!violations, `${method} ${path}: ${resp.status}: Prism reports contract violations: ${violations}`);
  check(
    resp.status === want,
    `${method} ${path}: status ${resp.status}, want ${want}; body: ${text}` +
      (body === undefined ? '' : `\n  request body (jsona.serialize): ${show(body)}`),
  );
  if (want === 204) return null;
  const ct = resp.headers.get('content-type') ?? '';
  check(ct.startsWith(MEDIA), `${method} ${path}: Content-Type ${show(ct)}, want ${MEDIA}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`${method} ${path}: the body is not JSON (${err.message}): ${text}`);
  }
}

const jsona = new Jsona();

// create serialises model with jsona (no included resources: a write
// carries only its primary data and relationship linkage), POSTs it to
// path and returns the created resource as a jsona model.
async function create(path, model) {
  const body = jsona.serialize({ stuff: model, includeNames: [] });
  for (const name of model.relationshipNames ?? []) {
    check(
      body.data?.relationships?.[name]?.data?.id === model[name].id,
      `jsona.serialize put no ${name} linkage into ${show(body)}`,
    );
  }
  const created = jsona.deserialize(await request('POST', path, 201, body));
  check(created?.type === model.type && created.id, `POST ${path}: deserialised ${show(created)}`);
  return created;
}

// numbersOf returns the numbers of a person's deserialised phone_numbers,
// after checking that each is a phone object resolved from `included`
// (jsona leaves {type, id} alone when it finds no included resource) whose
// `person` is the person.
function numbersOf(person, what) {
  const phones = person.phone_numbers;
  check(Array.isArray(phones), `${what}: phone_numbers is ${show(phones)}, want an array of phone objects`);
  return phones.map((ph, i) => {
    check(
      ph && ph.type === 'phone_numbers' && typeof ph.number === 'string',
      `${what}: phone_numbers[${i}] is ${show(ph)}, want a phone object with a number (from included)`,
    );
    check(
      ph.person?.id === person.id,
      `${what}: phone ${ph.id} links to person ${ph.person?.id}, want ${person.id}`,
    );
    return ph.number;
  });
}

function checkContact(person, contact, what) {
  check(
    person.contact && person.contact.type === 'contacts' && person.contact.id === contact.id,
    `${what}: contact is ${show(person.contact)}, want contact ${contact.id}`,
  );
  check(
    person.contact.name === contact.name,
    `${what}: contact.name is ${show(person.contact.name)}, want ${show(contact.name)} (from included)`,
  );
}

const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function main() {
  const tag = new Date().toISOString();

  // 1. Writes: every body is jsona.serialize output.
  const contact = await create('/api/v2/contacts', { type: 'contacts', name: `jsona check ${tag}` });
  const cpath = `/api/v2/contacts/${contact.id}`;
  let deleted = false;
  try {
    const people = [];
    for (const [first, last, numbers] of [
      ['Ada', 'Lovelace', [['+1 617 555 0101', '+16175550101'], ['(617) 555-0102', '+16175550102']]],
      ['Charles', 'Babbage', [['+44 20 7946 0958', '+442079460958']]],
    ]) {
      const person = await create(`${cpath}/people`, {
        type: 'people',
        first_name: first,
        last_name: last,
        contact,
        relationshipNames: ['contact'],
      });
      check(person.contact?.id === contact.id, `created person: contact ${show(person.contact)}, want ${contact.id}`);
      const want = [];
      for (const [input, e164] of numbers) {
        const phone = await create(`${cpath}/people/${person.id}/phones`, {
          type: 'phone_numbers',
          number: input,
          location: 'work',
          person,
          relationshipNames: ['person'],
        });
        check(phone.number === e164, `created phone: number ${show(phone.number)}, want ${show(e164)}`);
        check(phone.person?.id === person.id, `created phone: person ${show(phone.person)}, want ${person.id}`);
        want.push(e164);
      }
      people.push({ id: person.id, name: `${first} ${last}`, numbers: want });
    }
    const [ada] = people;

    // 2a. One person with its phones and contact.
    const what = `GET ${cpath}/people/${ada.id}?include=phone_numbers,contact`;
    const one = jsona.deserialize(await request('GET', `${cpath}/people/${ada.id}?include=phone_numbers,contact`, 200));
    check(one && !Array.isArray(one) && one.id === ada.id, `${what}: deserialised ${show(one)}`);
    check(one.first_name === 'Ada', `${what}: first_name ${show(one.first_name)}`);
    const got = numbersOf(one, what);
    check(sameList(got, ada.numbers), `${what}: phone numbers ${show(got)}, want ${show(ada.numbers)}`);
    checkContact(one, contact, what);

    // 2b. The account's people: each linked to its own phones and contact.
    const lpath = '/api/v2/contacts/people?include=phone_numbers,contact&sort=-created_at&per_page=500';
    const list = jsona.deserialize(await request('GET', lpath, 200));
    check(Array.isArray(list), `GET ${lpath}: deserialised ${show(list)}, want an array`);
    let phonesSeen = 0;
    for (const p of list) {
      check(p.type === 'people', `GET ${lpath}: an item of type ${show(p.type)}`);
      const n = numbersOf(p, `GET ${lpath}: person ${p.id}`);
      phonesSeen += n.length;
      check(
        p.contact && typeof p.contact.id === 'string',
        `GET ${lpath}: person ${p.id}: contact ${show(p.contact)}, want a contact object`,
      );
    }
    for (const want of people) {
      const p = list.find((x) => x.id === want.id);
      check(p, `GET ${lpath}: person ${want.id} (${want.name}) is not in the list`);
      const n = numbersOf(p, `GET ${lpath}: ${want.name}`);
      check(sameList(n, want.numbers), `GET ${lpath}: ${want.name}'s phone numbers ${show(n)}, want ${show(want.numbers)}`);
      checkContact(p, contact, `GET ${lpath}: ${want.name}`);
    }

    // 3. Clean up.
    await request('DELETE', cpath, 204);
    deleted = true;
    console.log(
      `jsona-check: ok (jsona ${jsonaVersion}, ${base}): created 1 contact, ${people.length} people and ` +
        `${people.reduce((n, p) => n + p.numbers.length, 0)} phones from jsona.serialize bodies; ` +
        `the person read with include=phone_numbers,contact has ${got.length} linked phones ` +
        `(${got.join(', ')}) and contact ${show(one.contact.name)}; the account list of ${list.length} people ` +
        `links ${phonesSeen} phones, each to its own person`,
    );
  } finally {
    if (!deleted) {
      // Best effort: leave nothing behind after a failure.
      await request('DELETE', cpath, 204).catch(() => {});
    }
  }
}

main().catch((err) => {
  if (err instanceof CheckError) {
    console.error(`jsona-check: FAIL: ${err.message}`);
  } else {
    console.error('jsona-check: FAIL:', err);
  }
  process.exitCode = 1;
});
