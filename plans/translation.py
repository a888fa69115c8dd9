from modeltranslation.translator import TranslationOptions, register

from plans.models import Plan, Promotion


@register(Plan)
class PlanTranslationOptions(TranslationOptions):
    fields = ("name", "description")


@register(Promotion)
class PromotionTranslationOptions(TranslationOptions):
    fields = ("description",)
