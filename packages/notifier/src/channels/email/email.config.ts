import { NameSchema, DurationSchema } from "@vigil/core";
import { z } from "zod";

/** An `email` channel in config: SMTP through nodemailer. */
export const EmailChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("email"),
  from: z.string().min(1),
  to: z.array(z.string().min(1)).min(1),
  smtp: z.strictObject({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(1).max(65535).default(587),
    /** Implicit TLS from the first byte (port 465). Otherwise STARTTLS is required, unless `allowPlaintext`. */
    secure: z.boolean().default(false),
    /**
     * Lets a server that does not offer STARTTLS receive the login and the alerts in cleartext
     * (a relay on the same host). Without it, such a server fails the delivery before AUTH.
     */
    allowPlaintext: z.boolean().default(false),
    /** Skip TLS certificate checks (local test servers only). */
    insecure: z.boolean().default(false),
    auth: z.strictObject({ user: z.string(), pass: z.string() }).optional(),
    timeout: DurationSchema.prefault("30s"),
  }),
});
export type EmailChannelConfig = z.infer<typeof EmailChannelSchema>;
