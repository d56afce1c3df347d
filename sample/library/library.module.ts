import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { Author } from './author.entity.js';
import { Book } from './book.entity.js';
import { LibraryController } from './library.controller.js';
import { SeedService } from './seed.service.js';

@Module({
  imports: [MikroOrmModule.forFeature([Author, Book])],
  controllers: [LibraryController],
  providers: [SeedService],
})
export class LibraryModule {}
