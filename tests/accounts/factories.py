import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"traveller{n}@example.com")
    phone = None
    phone_verified = False
    name = factory.Faker("name")
    language = "en"
    password = factory.django.Password("correct horse battery")
