import { checkText, type HttpReceiver, type ReceiverBehaviour, startHttpReceiver } from "./http-receiver.js";

/** Slack's documented Block Kit limits (api.slack.com/reference/block-kit). */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  messageText: 40_000,
  headerText: 150,
  sectionText: 3_000,
  sectionFields: 10,
  fieldText: 2_000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  url: 3_000,
  blockId: 255,
} as const;

export interface SlackReceiver extends HttpReceiver {
  /** An incoming-webhook URL of this receiver. */
  readonly webhookUrl: string;
  /** The Web API base (`…/api`); `chat.postMessage` lives under it. */
  readonly apiUrl: string;
  /** The bot token the Web API accepts. */
  readonly token: string;
  /** Messages accepted by `chat.postMessage`, with the `ts` each got. */
  readonly posted: { channel: string; ts: string; threadTs: string | undefined; message: Record<string, unknown> }[];
}

/**
 * Slack as a channel sees it: incoming webhooks (`POST /services/T…/B…/…`, answering `ok`) and
 * the Web API's `chat.postMessage` (bearer token, `{ ok, channel, ts }`, errors as `ok: false`
 * with HTTP 200). Every message is checked against Block Kit's documented limits; a thread reply
 * must name the `ts` of a message posted earlier.
 */
export async function startSlackReceiver(options: { token?: string } = {}): Promise<SlackReceiver> {
  const token = options.token ?? "xoxb-simulated-0000-token";
  const posted: SlackReceiver["posted"] = [];
  const known = new Set<string>();
  let clock = 1_767_000_000;

  const behaviour: ReceiverBehaviour = {
    name: "Slack",
    validate(request) {
      const message = request.json as Record<string, unknown> | undefined;
      if (!message || typeof message !== "object") return ["the body is not a JSON object"];
      const problems = checkMessage(message);
      if (request.path.startsWith("/api/chat.postMessage")) {
        if (typeof message.channel !== "string" || message.channel === "") problems.push("channel is required");
        const threadTs = message.thread_ts;
        if (threadTs !== undefined && (typeof threadTs !== "string" || !known.has(threadTs)))
          problems.push(`thread_ts ${String(threadTs)} is not a message of this channel`);
      }
      return problems;
    },
    answer(request, problems) {
      const message = (request.json ?? {}) as Record<string, unknown>;
      if (request.path.startsWith("/services/")) {
        if (request.method !== "POST") return { status: 405, body: "invalid_method" };
        return problems.length ? { status: 400, body: "invalid_blocks" } : { status: 200, body: "ok" };
      }
      if (request.path.startsWith("/api/chat.postMessage")) {
        if (request.headers.authorization !== `Bearer ${token}`)
          return { status: 200, body: { ok: false, error: "invalid_auth" } };
        if (problems.length) return { status: 200, body: { ok: false, error: "invalid_blocks", errors: problems } };
        clock += 1;
        const ts = `${clock}.000100`;
        known.add(ts);
        const channel = String(message.channel);
        const threadTs = typeof message.thread_ts === "string" ? message.thread_ts : undefined;
        posted.push({ channel, ts, threadTs, message });
        return { status: 200, body: { ok: true, channel, ts } };
      }
      return { status: 404, body: "no_service" };
    },
    isSuccess: (answer) =>
      answer.status === 200 && (answer.body === "ok" || (answer.body as { ok?: unknown } | undefined)?.ok === true),
  };
  const receiver = await startHttpReceiver(behaviour);
  return {
    ...receiver,
    webhookUrl: `${receiver.baseUrl}/services/T0001/B0001/simulated-webhook-secret`,
    apiUrl: `${receiver.baseUrl}/api`,
    token,
    posted,
  };
}

function checkMessage(message: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const blocks = message.blocks;
  if (blocks === undefined) return checkText("text", message.text, SLACK_LIMITS.messageText);
  problems.push(...checkText("text", message.text, SLACK_LIMITS.messageText, false));
  if (!Array.isArray(blocks)) return [...problems, "blocks must be an array"];
  if (blocks.length > SLACK_LIMITS.blocksPerMessage)
    problems.push(`${blocks.length} blocks, more than ${SLACK_LIMITS.blocksPerMessage}`);
  blocks.forEach((block, i) => void problems.push(...checkBlock(`blocks[${i}]`, block as Record<string, unknown>)));
  return problems;
}

function checkTextObject(where: string, value: unknown, max: number, types = ["plain_text", "mrkdwn"]): string[] {
  const object = value as { type?: unknown; text?: unknown } | undefined;
  if (!object || typeof object !== "object") return [`${where} is required`];
  if (!types.includes(String(object.type))) return [`${where}.type must be ${types.join(" or ")}`];
  return checkText(`${where}.text`, object.text, max);
}

function checkBlock(where: string, block: Record<string, unknown>): string[] {
  const problems = checkText(`${where}.block_id`, block.block_id, SLACK_LIMITS.blockId, false);
  switch (block.type) {
    case "header":
      return [...problems, ...checkTextObject(`${where}.text`, block.text, SLACK_LIMITS.headerText, ["plain_text"])];
    case "section": {
      if (block.text === undefined && block.fields === undefined) return [...problems, `${where} needs text or fields`];
      if (block.text !== undefined)
        problems.push(...checkTextObject(`${where}.text`, block.text, SLACK_LIMITS.sectionText));
      if (block.fields !== undefined) {
        const fields = block.fields as unknown[];
        if (!Array.isArray(fields) || fields.length > SLACK_LIMITS.sectionFields)
          problems.push(`${where}.fields: at most ${SLACK_LIMITS.sectionFields}`);
        else
          fields.forEach(
            (field, i) =>
              void problems.push(...checkTextObject(`${where}.fields[${i}]`, field, SLACK_LIMITS.fieldText)),
          );
      }
      return problems;
    }
    case "context": {
      const elements = block.elements as unknown[];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > SLACK_LIMITS.contextElements)
        return [...problems, `${where}.elements: 1 to ${SLACK_LIMITS.contextElements}`];
      elements.forEach(
        (element, i) =>
          void problems.push(...checkTextObject(`${where}.elements[${i}]`, element, SLACK_LIMITS.sectionText)),
      );
      return problems;
    }
    case "actions": {
      const elements = block.elements as Record<string, unknown>[];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > SLACK_LIMITS.actionsElements)
        return [...problems, `${where}.elements: 1 to ${SLACK_LIMITS.actionsElements}`];
      elements.forEach((element, i) => {
        if (element.type !== "button") problems.push(`${where}.elements[${i}]: only buttons are expected`);
        problems.push(
          ...checkTextObject(`${where}.elements[${i}].text`, element.text, SLACK_LIMITS.buttonText, ["plain_text"]),
        );
        problems.push(...checkText(`${where}.elements[${i}].url`, element.url, SLACK_LIMITS.url, false));
      });
      return problems;
    }
    case "divider":
      return problems;
    default:
      return [...problems, `${where}.type ${String(block.type)} is not a Block Kit block this receiver knows`];
  }
}
