"""Categories: a tree of product categories (Thời trang nữ > Váy đầm), each with a unique slug."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.commerce.catalogue.codes import slugify
from xuyen.commerce.catalogue.models import Category, Product
from xuyen.commerce.catalogue.schemas import CategoryIn, CategoryUpdate
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.names import fold_name

PATH_SEPARATOR = " > "
MAX_DEPTH = 6


def get_category(session: Session, *, category_id: int) -> Category:
    """The category ``category_id``."""
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(f"There is no category {category_id}; list them at /api/v1/catalogue/categories.",
                       code="category_not_found")
    return category


def list_categories(session: Session) -> list[Category]:
    """Every category, in tree order (parents before children, by position then name)."""
    rows = list(session.scalars(select(Category).order_by(Category.position, Category.name, Category.id)))
    children: dict[int | None, list[Category]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[Category] = []

    def walk(parent_id: int | None) -> None:
        for child in children.get(parent_id, []):
            ordered.append(child)
            walk(child.id)

    walk(None)
    seen = {row.id for row in ordered}
    ordered.extend(row for row in rows if row.id not in seen)  # a parent removed outside the services
    return ordered


def category_paths(session: Session) -> dict[int, str]:
    """Each category's path from the top (``Thời trang nữ > Váy đầm``), by id."""
    rows = {row.id: row for row in session.scalars(select(Category))}
    paths: dict[int, str] = {}
    for category_id in rows:
        names: list[str] = []
        current: int | None = category_id
        while current is not None and current in rows and len(names) <= MAX_DEPTH:
            names.append(rows[current].name)
            current = rows[current].parent_id
        paths[category_id] = PATH_SEPARATOR.join(reversed(names))
    return paths


def category_path(session: Session, *, category_id: int | None) -> str:
    """One category's path from the top, or empty for none."""
    if category_id is None:
        return ""
    return category_paths(session).get(category_id, "")


def _free_slug(session: Session, wanted: str, *, parent: Category | None) -> str:
    candidates = [wanted]
    if parent is not None:
        candidates.append(f"{parent.slug}-{wanted}"[:100])
    for candidate in candidates:
        if session.scalar(select(Category.id).where(Category.slug == candidate)) is None:
            return candidate
    for number in range(2, 1000):
        candidate = f"{candidates[-1][:95]}-{number}"
        if session.scalar(select(Category.id).where(Category.slug == candidate)) is None:
            return candidate
    raise Conflict(f"Every slug like {wanted!r} is taken; give the category a slug of its own.",
                   code="category_slug_taken")


def _depth(session: Session, category: Category | None) -> int:
    depth = 0
    while category is not None and depth <= MAX_DEPTH:
        depth += 1
        category = session.get(Category, category.parent_id) if category.parent_id is not None else None
    return depth


def _same(left: str, right: str) -> bool:
    return unicodedata.normalize("NFC", left).casefold() == unicodedata.normalize("NFC", right).casefold()


def _match(siblings: list[Category], name: str) -> Category | None:
    """The sibling named ``name``: exactly (any case), or else the only one equal without diacritics."""
    exact = [row for row in siblings if _same(row.name, name)]
    if exact:
        return exact[0]
    folded = [row for row in siblings if fold_name(row.name) == fold_name(name)]
    return folded[0] if len(folded) == 1 else None


def _check_name(session: Session, *, name: str, parent_id: int | None, except_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("A category needs a name, such as Áo thun.", code="invalid_category")
    siblings = session.scalars(select(Category).where(Category.parent_id.is_(None) if parent_id is None
                                                      else Category.parent_id == parent_id))
    if any(_same(row.name, name) and row.id != except_id for row in siblings):
        raise Conflict(f"There already is a category {name!r} here; pick another name or use that one.",
                       code="category_exists")
    return name


def add_category(session: Session, *, name: str, actor: str, parent_id: int | None = None,
                 slug: str | None = None, position: int = 0) -> Category:
    """Add a category (helper: no commit)."""
    parent = get_category(session, category_id=parent_id) if parent_id is not None else None
    if _depth(session, parent) >= MAX_DEPTH:
        raise ValidationFailed(f"Categories nest at most {MAX_DEPTH} deep.", code="invalid_category")
    name = _check_name(session, name=name, parent_id=parent_id)
    if slug is not None and slug.strip():
        wanted = slugify(slug)
        if session.scalar(select(Category.id).where(Category.slug == wanted)) is not None:
            raise Conflict(f"The slug {wanted!r} is taken by another category.", code="category_slug_taken")
    else:
        wanted = _free_slug(session, slugify(name) or "danh-muc", parent=parent)
    category = Category(name=name, parent_id=parent_id, slug=wanted, position=position)
    session.add(category)
    session.flush()
    audit.record(session, actor=actor, action="category.created", subject_type="category", subject_id=category.id,
                 detail={"name": name, "parent_id": parent_id})
    return category


def create_category(session: Session, *, category: CategoryIn, actor: str) -> Category:
    """Create a category."""
    row = add_category(session, name=category.name, parent_id=category.parent_id, slug=category.slug,
                       position=category.position, actor=actor)
    session.commit()
    return row


def update_category(session: Session, *, category_id: int, changes: CategoryUpdate, actor: str) -> Category:
    """Rename a category, move it under another one, or change its position."""
    category = get_category(session, category_id=category_id)
    given = changes.model_fields_set
    parent_id = changes.parent_id if "parent_id" in given else category.parent_id
    if "parent_id" in given and parent_id is not None:
        ancestor: Category | None = get_category(session, category_id=parent_id)
        while ancestor is not None:
            if ancestor.id == category.id:
                raise ValidationFailed("A category cannot be moved under itself or one of its own subcategories.",
                                       code="invalid_category")
            ancestor = session.get(Category, ancestor.parent_id) if ancestor.parent_id is not None else None
    name = changes.name if changes.name is not None else category.name
    category.name = _check_name(session, name=name, parent_id=parent_id, except_id=category.id)
    category.parent_id = parent_id
    if changes.position is not None:
        category.position = changes.position
    audit.record(session, actor=actor, action="category.updated", subject_type="category", subject_id=category.id,
                 detail=changes.model_dump(exclude_unset=True))
    session.commit()
    return category


def delete_category(session: Session, *, category_id: int, actor: str) -> None:
    """Delete an empty category (no subcategories, no products)."""
    category = get_category(session, category_id=category_id)
    children = session.scalar(select(func.count()).select_from(Category).where(Category.parent_id == category.id))
    products = session.scalar(select(func.count()).select_from(Product).where(Product.category_id == category.id))
    if children or products:
        raise Conflict(f"The category {category.name!r} still holds {children or 0} subcategories and "
                       f"{products or 0} products; move them to another category first.", code="category_in_use")
    session.delete(category)
    audit.record(session, actor=actor, action="category.deleted", subject_type="category", subject_id=category_id,
                 detail={"name": category.name})
    session.commit()


def ensure_category_path(session: Session, *, path: str, actor: str) -> Category | None:
    """The category at ``path`` (``Thời trang nữ > Váy đầm``), adding the missing ones (helper: no commit)."""
    names = [" ".join(part.split()) for part in path.split(">")]
    names = [name for name in names if name]
    if not names:
        return None
    if len(names) > MAX_DEPTH:
        raise ValidationFailed(f"The category path {path!r} is deeper than {MAX_DEPTH} levels.",
                               code="invalid_category")
    parent: Category | None = None
    for name in names:
        siblings = session.scalars(select(Category).where(
            Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id))
        found = _match(list(siblings), name)
        parent = found or add_category(session, name=name, parent_id=parent.id if parent else None, actor=actor)
    return parent
