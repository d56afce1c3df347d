import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Module } from '@nestjs/common';
import { LibraryModule } from './library/library.module.js';

@Module({
  imports: [
    MikroOrmModule.forRootAsync({
      driver: PostgreSqlDriver,
      useFactory: () => ({
        driver: PostgreSqlDriver,
        clientUrl: process.env.DATABASE_URL,
        autoLoadEntities: true,
        metadataProvider: ReflectMetadataProvider,
      }),
    }),
    LibraryModule,
  ],
})
export class AppModule {}
