// Everyone: log in, sign up, verify the email, reset the password, join an organization.
import { useState, type FormEvent } from "react";
import { useMutation } from "urql";

import { Link, navigate, useLocation } from "../app/router";
import { setToken } from "../app/session";
import {
  AcceptMemberInvitationDocument,
  LoginDocument,
  RequestPasswordResetDocument,
  ResendVerificationDocument,
  ResetPasswordDocument,
  SignUpDocument,
  VerifyEmailDocument,
} from "../generated/graphql";
import { Field, FormErrors, Select, Submit, type UserError } from "../ui/form";
import { Page } from "../ui/status";

function value(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "";
}

/** The login form; `then` is where to go after (the page that asked for a login). */
export function LoginForm({ then }: { then?: string }) {
  const [state, login] = useMutation(LoginDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const result = await login({ input: { email: value(form, "email"), password: value(form, "password") } });
    const payload = result.data?.login;
    setErrors(payload?.userErrors ?? []);
    if (payload?.token) {
      setToken(payload.token);
      if (then) navigate(then, true);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Log in" noValidate>
      <Field label="Email" name="email" type="email" autoComplete="username" required errors={errors} />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        errors={errors}
      />
      <FormErrors errors={errors} fields={["email", "password"]} error={state.error} />
      <Submit busy={state.fetching}>Log in</Submit>
      <p>
        <Link href="/reset-password">Forgot your password?</Link> · <Link href="/sign-up">Create an account</Link>
      </p>
    </form>
  );
}

export function LoginPage() {
  const { query } = useLocation();
  return (
    <Page title="Log in">
      <LoginForm then={query.get("next") ?? "/"} />
    </Page>
  );
}

export function SignUpPage() {
  const [state, signUp] = useMutation(SignUpDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const result = await signUp({
      input: {
        email: value(form, "email"),
        password: value(form, "password"),
        fullName: value(form, "fullName"),
        organizationName: value(form, "organizationName"),
        currency: value(form, "currency") as "CHF" | "EUR",
      },
    });
    const payload = result.data?.signUp;
    setErrors(payload?.userErrors ?? []);
    if (payload && !payload.userErrors.length) setSentTo(payload.email ?? value(form, "email"));
  };
  if (sentTo)
    return (
      <Page title="Check your email">
        <p role="status">
          We sent a link to <strong>{sentTo}</strong>. Open it to verify the address; your account acts once it is
          verified.
        </p>
      </Page>
    );
  const fields = ["email", "password", "fullName", "organizationName", "currency"];
  return (
    <Page title="Create an account">
      <form onSubmit={submit} aria-label="Sign up" noValidate>
        <Field label="Your name" name="fullName" autoComplete="name" required errors={errors} />
        <Field label="Email" name="email" type="email" autoComplete="email" required errors={errors} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          errors={errors}
          hint="At least 12 characters."
        />
        <Field label="Organization name" name="organizationName" required errors={errors} />
        <Select label="Currency" name="currency" errors={errors} defaultValue="CHF">
          <option value="CHF">CHF</option>
          <option value="EUR">EUR</option>
        </Select>
        <FormErrors errors={errors} fields={fields} error={state.error} />
        <Submit busy={state.fetching}>Sign up</Submit>
      </form>
    </Page>
  );
}

export function VerifyEmailPage() {
  const { query } = useLocation();
  const [state, verify] = useMutation(VerifyEmailDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [resend, resendVerification] = useMutation(ResendVerificationDocument);
  const [resent, setResent] = useState(false);
  const token = query.get("token") ?? "";
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await verify({ input: { token: value(event.currentTarget, "token") } });
    const payload = result.data?.verifyEmail;
    setErrors(payload?.userErrors ?? []);
    if (payload?.token) {
      setToken(payload.token);
      navigate("/", true);
    }
  };
  const again = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    await resendVerification({ input: { email: value(event.currentTarget, "email") } });
    setResent(true);
  };
  return (
    <Page title="Verify your email">
      <form onSubmit={submit} aria-label="Verify the email" noValidate>
        <Field label="Verification code" name="token" defaultValue={token} required errors={errors} />
        <FormErrors errors={errors} fields={["token"]} error={state.error} />
        <Submit busy={state.fetching}>Verify my email</Submit>
      </form>
      <form onSubmit={again} aria-label="Send the link again" noValidate>
        <Field label="Email for a new link" name="email" type="email" autoComplete="email" />
        <Submit busy={resend.fetching}>Send the link again</Submit>
        {resent && <p role="status">If that address has an account waiting, a new link is on its way.</p>}
      </form>
    </Page>
  );
}

export function ResetPasswordPage() {
  const { query } = useLocation();
  const token = query.get("token");
  const [requestState, request] = useMutation(RequestPasswordResetDocument);
  const [resetState, reset] = useMutation(ResetPasswordDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [sent, setSent] = useState(false);
  if (!token) {
    const submit = async (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      const result = await request({ input: { email: value(event.currentTarget, "email") } });
      setErrors(result.data?.requestPasswordReset.userErrors ?? []);
      if (result.data && !result.data.requestPasswordReset.userErrors.length) setSent(true);
    };
    return (
      <Page title="Reset your password">
        {sent ? (
          <p role="status">If an account has that address, a link to reset its password is on its way (valid one hour).</p>
        ) : (
          <form onSubmit={submit} aria-label="Request a reset link" noValidate>
            <Field label="Email" name="email" type="email" autoComplete="email" required errors={errors} />
            <FormErrors errors={errors} fields={["email"]} error={requestState.error} />
            <Submit busy={requestState.fetching}>Email me a link</Submit>
          </form>
        )}
      </Page>
    );
  }
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await reset({ input: { token, newPassword: value(event.currentTarget, "newPassword") } });
    const payload = result.data?.resetPassword;
    setErrors(payload?.userErrors ?? []);
    if (payload?.token) {
      setToken(payload.token);
      navigate("/", true);
    }
  };
  return (
    <Page title="Choose a new password">
      <form onSubmit={submit} aria-label="Set a new password" noValidate>
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          required
          errors={errors}
        />
        <FormErrors errors={errors} fields={["newPassword"]} error={resetState.error} />
        <Submit busy={resetState.fetching}>Set the password</Submit>
      </form>
    </Page>
  );
}

export function MemberInvitationPage() {
  const { query } = useLocation();
  const [state, accept] = useMutation(AcceptMemberInvitationDocument);
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const result = await accept({
      input: {
        token: query.get("token") ?? "",
        fullName: value(form, "fullName") || null,
        password: value(form, "password") || null,
      },
    });
    const payload = result.data?.acceptMemberInvitation;
    setErrors(payload?.userErrors ?? []);
    if (payload?.token) {
      setToken(payload.token);
      navigate("/", true);
    }
  };
  return (
    <Page title="Join the organization">
      <form onSubmit={submit} aria-label="Accept the invitation" noValidate>
        <p>New here? Give your name and a password. Already have an account? Leave both empty.</p>
        <Field label="Your name" name="fullName" autoComplete="name" errors={errors} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" errors={errors} />
        <FormErrors errors={errors} fields={["fullName", "password"]} error={state.error} />
        <Submit busy={state.fetching}>Join</Submit>
      </form>
    </Page>
  );
}
