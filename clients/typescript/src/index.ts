// A typed client for phoneapi: the types are generated from openapi.yaml by
// openapi-typescript (src/schema.ts, `make generate`), the requests go
// through openapi-fetch. The wrapper adds what phoneapi needs and
// openapi-fetch does not do by itself: the JSON:API media type on every
// request (openapi-fetch sends Content-Type: application/json, which
// phoneapi answers with 415) and the bearer token.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** The JSON:API media type, sent as Content-Type and Accept. */
export const mediaType = "application/vnd.api+json";

/** A bearer token, or a function that returns one for each request (for tokens that expire). */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link createPhoneapiClient}. */
export interface PhoneapiClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The server, e.g. `http://127.0.0.1:8080` (no trailing `/api/v2`: the paths carry it). */
  baseUrl: string;
  /** The bearer token (`phoneapi token`), or a function returning it. */
  token: TokenSource;
}

/** The typed client: `client.GET("/api/v2/contacts", ...)` and so on, as openapi-fetch's Client. */
export type PhoneapiClient = Client<paths, typeof mediaType>;

/**
 * createPhoneapiClient returns an openapi-fetch client typed by openapi.yaml
 * that sends Content-Type and Accept application/vnd.api+json and
 * Authorization: Bearer <token> on every request. Headers given in options or
 * per request are kept, except that these three are always set. A token
 * function is called once per request; an empty token throws before the
 * request is sent.
 */
export function createPhoneapiClient(options: PhoneapiClientOptions): PhoneapiClient {
  const { token, baseUrl, ...rest } = options;
  const client = createClient<paths, typeof mediaType>({
    ...rest,
    baseUrl: baseUrl.replace(/\/+$/, ""),
  });
  client.use({
    async onRequest({ request }) {
      const t = typeof token === "function" ? await token() : token;
      if (!t) {
        throw new Error("phoneapi client: empty bearer token");
      }
      request.headers.set("Content-Type", mediaType);
      request.headers.set("Accept", mediaType);
      request.headers.set("Authorization", `Bearer ${t}`);
      return request;
    },
  });
  return client;
}

type Schemas = components["schemas"];

/** A JSON:API error document (every 4xx and 5xx). */
export type ErrorDocument = Schemas["ErrorDocument"];

/** Contact resource and documents. */
export type Contact = Schemas["ContactResource"];
export type ContactDocument = Schemas["ContactDocument"];
export type ContactListDocument = Schemas["ContactListDocument"];
export type ContactCreateDocument = Schemas["ContactCreateDocument"];
export type ContactUpdateDocument = Schemas["ContactUpdateDocument"];

/** Person resource and documents. */
export type Person = Schemas["PersonResource"];
export type PersonDocument = Schemas["PersonDocument"];
export type PersonListDocument = Schemas["PersonListDocument"];
export type PersonCreateDocument = Schemas["PersonCreateDocument"];
export type PersonUpdateDocument = Schemas["PersonUpdateDocument"];

/** Phone resource and documents. */
export type Phone = Schemas["PhoneResource"];
export type PhoneDocument = Schemas["PhoneDocument"];
export type PhoneListDocument = Schemas["PhoneListDocument"];
export type PhoneCreateDocument = Schemas["PhoneCreateDocument"];
export type PhoneUpdateDocument = Schemas["PhoneUpdateDocument"];

/** List documents' meta and links. */
export type ListMeta = Schemas["ListMeta"];
export type ListLinks = Schemas["ListLinks"];
