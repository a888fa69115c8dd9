from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.password_reset_by_code import PasswordResetVerificationProcess


class PhonePasswordResetProcess(PasswordResetVerificationProcess):
    """allauth's reset-by-code, with the code sent by SMS.

    Only the start and the proof differ: allauth's confirm and complete views resume the process
    from the session and never send again, so they work unchanged. The adapter decides whether a
    code may go (staff, budgets, paused accounts) and remembers it once delivered.
    """

    def send(self) -> None:
        adapter = get_adapter()
        phone = self.state["phone"]
        if not self.user:
            adapter.send_unknown_account_sms(phone)
            return
        code = adapter.generate_password_reset_code()
        self.state["code"] = code
        adapter.send_verification_code_sms(user=self.user, phone=phone, code=code)

    def confirm_code(self) -> None:
        super().confirm_code()
        # The code reached this phone: it is proven, like allauth proves the email of an email reset.
        get_adapter().set_phone_verified(self.user, self.state["phone"])

    @classmethod
    def initiate_by_phone(cls, *, request, user, phone: str) -> "PhonePasswordResetProcess":
        state = cls.initial_state(user, phone=phone)
        state["email"] = ""  # allauth's confirm step reads it
        process = cls(request, state=state, user=user)
        process.send()
        process.persist()
        return process
