import { checkText, type HttpReceiver, startHttpReceiver } from "./http-receiver.js";

/** Teams' documented message size limit for webhooks. */
export const TEAMS_MAX_MESSAGE_BYTES = 28 * 1024;
const CARD_ELEMENTS = new Set(["TextBlock", "FactSet", "Container", "ColumnSet", "Image", "RichTextBlock"]);

export interface TeamsReceiver extends HttpReceiver {
  /** A Workflows trigger URL of this receiver (its `sig` is the credential). */
  readonly url: string;
}

/**
 * A Teams Workflows webhook: takes `{ type: "message", attachments: [adaptive card] }`, answers
 * 202, refuses a message over 28 KB with 413 and a malformed card with 400.
 */
export async function startTeamsReceiver(): Promise<TeamsReceiver> {
  const receiver = await startHttpReceiver({
    name: "Teams",
    validate(request) {
      if (Buffer.byteLength(request.body) > TEAMS_MAX_MESSAGE_BYTES)
        return [`the message is ${Buffer.byteLength(request.body)} bytes, more than ${TEAMS_MAX_MESSAGE_BYTES}`];
      return checkMessage(request.json);
    },
    answer(request, problems) {
      if (!request.path.includes("sig=simulated-signature"))
        return { status: 401, body: { error: { code: "DirectApiAuthorizationRequired" } } };
      if (Buffer.byteLength(request.body) > TEAMS_MAX_MESSAGE_BYTES)
        return { status: 413, body: { error: { code: "RequestEntityTooLarge" } } };
      return problems.length
        ? { status: 400, body: { error: { code: "InvalidRequestContent", message: problems.join("; ") } } }
        : { status: 202, body: "" };
    },
  });
  return {
    ...receiver,
    url: `${receiver.baseUrl}/workflows/0001/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=simulated-signature`,
  };
}

function checkMessage(json: unknown): string[] {
  const message = json as { type?: unknown; attachments?: unknown } | undefined;
  if (!message || typeof message !== "object") return ["the body is not a JSON object"];
  if (message.type !== "message") return ['type must be "message"'];
  if (!Array.isArray(message.attachments) || message.attachments.length === 0) return ["attachments must hold a card"];
  const problems: string[] = [];
  for (const [i, attachment] of (message.attachments as Record<string, unknown>[]).entries()) {
    const where = `attachments[${i}]`;
    if (attachment.contentType !== "application/vnd.microsoft.card.adaptive")
      problems.push(`${where}.contentType must be application/vnd.microsoft.card.adaptive`);
    const card = attachment.content as Record<string, unknown> | undefined;
    if (card?.type !== "AdaptiveCard") {
      problems.push(`${where}.content.type must be AdaptiveCard`);
      continue;
    }
    if (typeof card.version !== "string") problems.push(`${where}.content.version is required`);
    if (!Array.isArray(card.body)) {
      problems.push(`${where}.content.body must be an array`);
      continue;
    }
    card.body.forEach((element: Record<string, unknown>, j) => {
      const at = `${where}.content.body[${j}]`;
      if (!CARD_ELEMENTS.has(String(element.type)))
        problems.push(`${at}.type ${String(element.type)} is not a card element`);
      if (element.type === "TextBlock")
        problems.push(...checkText(`${at}.text`, element.text, Number.POSITIVE_INFINITY));
      if (element.type === "FactSet") {
        const facts = element.facts as { title?: unknown; value?: unknown }[];
        if (!Array.isArray(facts)) problems.push(`${at}.facts must be an array`);
        else
          facts.forEach((fact, k) => {
            if (typeof fact.title !== "string" || typeof fact.value !== "string")
              problems.push(`${at}.facts[${k}] needs title and value`);
          });
      }
    });
    for (const [k, action] of ((card.actions ?? []) as Record<string, unknown>[]).entries()) {
      if (action.type !== "Action.OpenUrl" || typeof action.url !== "string" || typeof action.title !== "string")
        problems.push(`${where}.content.actions[${k}] must be an Action.OpenUrl with title and url`);
    }
  }
  return problems;
}
