"""Issue 12 (16): on a 390 x 844 phone every control a thumb aims at is at least 44 x 44 CSS px."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.billing.factories import PlanFactory
from tests.browser.test_renewal_journey import PASSWORD, traveller  # noqa: F401 (fixture)
from tests.usage.card_factories import OwnedCardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOUCH = 44

# Every visible control's box (a link in a sentence of the page's text excepted, as WCAG 2.5.8 does); a checkbox or radio counts with the area that toggles it (its row: a
# tap anywhere on it lands on the label), found by asking the page which element a point hits.
MEASURE = """
(touch) => {
  const small = [];
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  };
  const describe = (el) => `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || el.placeholder || '').trim().slice(0, 40)}"`;
  for (const el of document.querySelectorAll('a[href], button, select, input:not([type=hidden]), textarea')) {
    if (!visible(el) || el.closest('.visually-hidden, .sr-only, .skip-link')) continue;
    const style = getComputedStyle(el);
    if (style.position === 'absolute' && style.clip !== 'auto') continue;  // visually hidden until focused
    // WCAG 2.5.8's one exception: a link inside a sentence of the page's text (not the footer's).
    const sentence = el.tagName === 'A' && el.closest('main p, main li');
    if (sentence && sentence.innerText.trim().length > el.innerText.trim().length + 10) continue;
    let box = el.getBoundingClientRect();
    if (el.type === 'checkbox' || el.type === 'radio') {
      const row = el.closest('.field-check, .field-inline, .choice') || el;
      row.scrollIntoView({block: 'center'});
      box = row.getBoundingClientRect();
      // The row's far corner must toggle the same input.
      const hit = document.elementFromPoint(box.right - 2, box.top + 2);
      const label = hit && hit.closest('label');
      if (!(hit === el || (label && (label.control === el)))) {
        small.push(`${describe(el)}: only the ${Math.round(el.getBoundingClientRect().width)} px box toggles it`);
        continue;
      }
    }
    if (box.width < touch - 0.5 || box.height < touch - 0.5) {
      small.push(`${describe(el)}: ${Math.round(box.width)} x ${Math.round(box.height)}`);
    }
  }
  return small;
}
"""


def assert_no_small_targets(page) -> None:
    small = page.evaluate(MEASURE, TOUCH)
    assert not small, f"{page.url}: {small}"


def test_plans_checkout_login_and_footer_have_44_px_targets_on_a_phone(
    phone_page,
    login_with_password,
    screenshot,
    traveller,  # noqa: F811
):
    PlanFactory(code="day", name="Day 1 GB", period="day", data_bytes=10**9, price_cents=490, display_order=1)
    PlanFactory(display_order=2)
    OwnedCardFactory(owner=traveller, label="Léa's phone", expires_at=timezone.now() + timedelta(days=2))
    OwnedCardFactory(owner=traveller, label="Tablet", expires_at=timezone.now() + timedelta(days=9))
    page = phone_page

    page.goto("/accounts/login/")
    login_field = page.locator("input[name=login]")
    placeholder = login_field.get_attribute("placeholder")
    # The placeholder fits in the field: nothing of it is cut off at the right edge.
    assert page.evaluate(
        """(input) => {
          const style = getComputedStyle(input);
          const canvas = document.createElement('canvas').getContext('2d');
          canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
          const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          return canvas.measureText(input.placeholder).width <= room;
        }""",
        login_field.element_handle(),
    ), f"placeholder {placeholder!r} is clipped"
    assert_no_small_targets(page)
    screenshot(page, "1-login")

    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)
    page.goto("/plans/")
    assert_no_small_targets(page)
    screenshot(page, "2-plans")

    page.get_by_role("link", name="Choose Week 5 GB").click()
    page.wait_for_url(re.compile(r"/checkout/\?plan=week"))
    assert_no_small_targets(page)
    start_now = page.get_by_label(re.compile(r"^I ask for my plan to start now"))
    row = page.locator(".field-check", has=start_now).bounding_box()
    # A tap at the right end of the row ticks the box.
    page.mouse.click(row["x"] + row["width"] - 4, row["y"] + 4)
    assert start_now.is_checked()
    screenshot(page, "3-checkout")


def test_demo_pay_and_decline_stand_well_apart_and_decline_is_the_quiet_one(
    phone_page,
    login_with_password,
    screenshot,
    traveller,  # noqa: F811
):
    from billing.services import order_create

    card = OwnedCardFactory(owner=traveller, expires_at=timezone.now() + timedelta(days=2))
    order = order_create(user=traveller, plan=PlanFactory(), card=card, now=timezone.now())
    page = phone_page
    login_with_password(page, login="+377 6 12 34 56 78", password=PASSWORD)

    page.goto(f"/orders/{order.number}/demo-payment/")
    pay = page.get_by_role("button", name=re.compile(r"^Pay .* \(demo\)"))
    decline = page.get_by_role("button", name="Decline the payment (demo)")
    pay_box, decline_box = pay.bounding_box(), decline.bounding_box()
    gap = decline_box["y"] - (pay_box["y"] + pay_box["height"])
    assert gap >= 24, f"only {gap} px between Pay and Decline"
    colours = page.evaluate(
        "([pay, decline]) => [getComputedStyle(pay).backgroundColor, getComputedStyle(decline).backgroundColor]",
        [pay.element_handle(), decline.element_handle()],
    )
    # Decline is an outlined button on the page's surface, not a second filled one beside Pay.
    assert colours[1] != colours[0]
    assert colours[1] in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert_no_small_targets(page)
    screenshot(page, "demo-payment")
